// The process-wide registry: the default client's pipeline and every live pipeline, shut down
// within a bounded time by one std::atexit hook.
#pragma once

#include "promptetheus/export.hpp"

#include <memory>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class Pipeline;

/// Adds a live pipeline (weakly held) and registers the atexit hook on first use when its
/// options ask for it. Thread-safe.
void register_pipeline(const std::shared_ptr<Pipeline>& pipeline) noexcept;
void unregister_pipeline(const Pipeline* pipeline) noexcept;

/// Replaces the default pipeline; returns the previous one. Thread-safe.
std::shared_ptr<Pipeline> exchange_default_pipeline(std::shared_ptr<Pipeline> pipeline) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
