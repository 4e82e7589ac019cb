// transport=memory: keeps every event in memory (for tests; see promptetheus/testing.hpp).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "promptetheus/transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The events a MemoryTransport received. Shared between the transport (owned by the pipeline)
/// and whoever reads them, so it outlives either. Thread-safe.
class MemoryStore {
 public:
  void append(std::vector<EncodedEvent>& events);
  /// A copy of every event received so far, in arrival order.
  std::vector<EncodedEvent> events() const;

 private:
  mutable std::mutex mutex_;
  std::vector<EncodedEvent> events_;
};

class MemoryTransport final : public Transport {
 public:
  explicit MemoryTransport(std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>())
      : store_(std::move(store)) {}
  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;
  const std::shared_ptr<MemoryStore>& store() const noexcept { return store_; }

 private:
  std::shared_ptr<MemoryStore> store_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
