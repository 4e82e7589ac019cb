// Chooses and builds what a client delivers through for a set of Options (contract §3.3 with
// DESIGN.md §2): the transport, and the spool it spills to. This is where the client is
// assembled: the pipeline in src/core only sees the interfaces of core/delivery_parts.hpp.
#pragma once

#include "core/delivery_parts.hpp"
#include "promptetheus/options.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// transport_factory if set; otherwise `transport`: auto = http when an API key is set, spool
/// otherwise; http without a key or URL, or a factory that fails, falls back to the spool with a
/// non-ok status. The spill target is the spool (shared with the transport when the transport
/// writes one, so that one size estimate, one set of live sessions and one pruned-events count
/// cover both), or none for a custom transport without overflow_to_spool and for memory/off.
DeliveryParts assemble_delivery(const Options& options) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
