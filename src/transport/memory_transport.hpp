// transport=memory: keeps every event in memory (for tests; see promptetheus/testing.hpp).
#pragma once

#include <mutex>
#include <vector>

#include "promptetheus/transport.hpp"

namespace promptetheus::detail {

class MemoryTransport final : public Transport {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;
  /// A copy of every event received so far, in arrival order. Thread-safe.
  std::vector<EncodedEvent> events() const;

 private:
  mutable std::mutex mutex_;
  std::vector<EncodedEvent> events_;
};

}  // namespace promptetheus::detail
