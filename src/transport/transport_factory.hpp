// Chooses and builds the transport for a set of Options (contract §3.3 with DESIGN.md §2).
// This is where the client is assembled: the pipeline in src/core only sees the Transport
// interface.
#pragma once

#include <memory>
#include <string>

#include "core/delivery_accounting.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/status.hpp"
#include "promptetheus/transport.hpp"
#include "transport/spool.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct TransportChoice {
  std::unique_ptr<Transport> transport;    // null for `off`
  std::string name;                        // "http", "spool", "memory", "custom", "off"
  std::string spool_dir;                   // where overflow and leftovers may spill ("" = nowhere)
  /// The spool the transport writes, to be shared (copied) by the pipeline's spills so that one
  /// size estimate, one set of live sessions and one pruned-events count cover them all. Null
  /// when the transport has no spool of its own.
  std::shared_ptr<const Spool> spool;
  std::shared_ptr<TransportHealth> health; // retries and circuit state (HTTP); may be null
  Status status;
};

/// transport_factory if set; otherwise `transport`: auto = http when an API key is set, spool
/// otherwise; http without a key or URL, or a factory that fails, falls back to the spool with a
/// non-ok status.
TransportChoice make_transport(const Options& options) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
