#include "core/trace_identity.hpp"

#include <algorithm>

#include "core/hex.hpp"
#include "core/sha256.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

template <std::size_t N>
void never_zero(std::array<std::uint8_t, N>& bytes) noexcept {
  // W3C forbids all-zero ids; one in 2^64 derived ids would be.
  if (all_zero(bytes)) bytes[N - 1] = 1;
}

}  // namespace

TraceIdentity trace_identity(const std::string& session_id, const TraceContext& incoming) {
  TraceIdentity trace;
  const auto digest = sha256("promptetheus.trace\n" + session_id);
  std::copy(digest.begin(), digest.begin() + 16, trace.trace_id.begin());
  std::copy(digest.begin() + 16, digest.begin() + 24, trace.root_span_id.begin());
  if (incoming.valid()) {
    trace.trace_id = incoming.trace_id_bytes();
    trace.flags = incoming.flags();
    trace.tracestate = incoming.tracestate();
  }
  never_zero(trace.trace_id);
  never_zero(trace.root_span_id);
  return trace;
}

std::array<std::uint8_t, 8> otel_span_id(const SpanId& id) noexcept {
  std::array<std::uint8_t, 8> out{};
  std::copy(id.begin(), id.begin() + 8, out.begin());
  never_zero(out);
  return out;
}

TraceContext outgoing_context(const TraceIdentity& trace, const std::array<std::uint8_t, 8>& parent) {
  const std::array<std::uint8_t, 1> flags{trace.flags};
  return TraceContext::parse("00-" + lower_hex(trace.trace_id) + "-" + lower_hex(parent) + "-" + lower_hex(flags),
                             trace.tracestate);
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
