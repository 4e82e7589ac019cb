// The body that creates a session's trace on the API (POST /api/traces, contract §4): the SDK
// sends {id, agent, user_goal, project_id, environment, metadata, tags}, taken from the
// session's session_started event. Built once per session and shared by all its events
// (EncodedEvent::trace_body), so no transport ever parses an event for it.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The body from session_started data: `after` is its payload's "after" object (agent,
/// user_goal, project_id, environment, tags) and `metadata` the session's metadata. Missing or
/// mistyped fields become null (user_goal "", metadata {}, tags []). Bounded in depth like every
/// JSON the SDK writes. Throws only std::bad_alloc.
std::string make_trace_body(std::string_view session_id, const nlohmann::json& after,
                            const nlohmann::json& metadata);

/// The body from a session_started event read back as a parsed envelope (a spool line); empty
/// when `event` is not a session_started event with a session id. Metadata comes from the
/// envelope, or else from the payload's "after" (older lines). Never throws.
std::string trace_body_from_event(const nlohmann::json& event) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
