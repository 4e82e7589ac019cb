// transport=spool: every event is appended to <spool_dir>/<session>.jsonl.
#pragma once

#include <atomic>

#include "promptetheus/transport.hpp"
#include "transport/spool.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

class SpoolTransport final : public Transport {
 public:
  explicit SpoolTransport(Spool spool) : spool_(std::move(spool)) {}
  /// Appends each session's events with one write. Stops between sessions once interrupt() was
  /// called, leaving the rest pending (shutdown counts them).
  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;
  void interrupt() noexcept override { interrupted_.store(true, std::memory_order_release); }

 private:
  Spool spool_;
  std::atomic<bool> interrupted_{false};
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
