// transport=spool: every event is appended to <spool_dir>/<session>.jsonl.
#pragma once

#include "promptetheus/transport.hpp"
#include "transport/spool.hpp"

namespace promptetheus::detail {

class SpoolTransport final : public Transport {
 public:
  explicit SpoolTransport(Spool spool) : spool_(std::move(spool)) {}
  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;

 private:
  Spool spool_;
};

}  // namespace promptetheus::detail
