// The library's own access to the internals behind public handles (Client, SessionHandle),
// which the public headers keep private.
#pragma once

#include <memory>
#include <utility>

#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct ClientAccess {
  static const std::shared_ptr<Pipeline>& pipeline(const Client& client) noexcept { return client.pipeline_; }
};

struct SessionAccess {
  static const std::shared_ptr<SessionState>& state(const SessionHandle& handle) noexcept { return handle.state_; }
  static SessionHandle make(std::shared_ptr<SessionState> state) noexcept {
    SessionHandle handle;
    handle.state_ = std::move(state);
    return handle;
  }
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
