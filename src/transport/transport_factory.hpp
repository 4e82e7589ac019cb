// Chooses and builds the transport for a set of Options (contract §3.3 with DESIGN.md §2).
#pragma once

#include <memory>
#include <string>

#include "promptetheus/options.hpp"
#include "promptetheus/status.hpp"
#include "promptetheus/transport.hpp"

namespace promptetheus::detail {

struct TransportChoice {
  std::shared_ptr<Transport> transport;  // null for `off`
  std::string name;                      // "http", "spool", "memory", "custom", "off"
  std::string spool_dir;                 // where overflow and leftovers may spill ("" = nowhere)
  Status status;
};

/// custom_transport if set; otherwise `transport`: auto = http when an API key is set, spool
/// otherwise; http without a key or URL falls back to the spool with a non-ok status.
TransportChoice make_transport(const Options& options) noexcept;

}  // namespace promptetheus::detail
