// The worker's OpenTelemetry encoding rate: events/s through the span builder (the work the
// OTLP destination adds to the worker thread for every event: read the event's canonical JSON,
// attach it to its span as a span event, write each span as OTLP/HTTP JSON when it ends, and
// assemble the request of every batch), on the lines the SDK itself writes.
//
// Workload: sessions of 10 spans, each holding a tool_call, a tool_result and an llm_call (the
// events of a typical agent step, 230-330 bytes a line), plus the markers; batches of 1,000
// events, one request taken per batch, as the worker does per send(). Anchors in the same run,
// on the same lines: nlohmann::json::parse alone (the builder's first step), and the spool
// transport's own cost per event (appending the lines to a file).
//
//   otlp_encode [repetitions]   prints events/s of each, per repetition and the median
// Method and figures: docs/performance.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/transport.hpp"
#include "sdk_bench_support.hpp"
#include "transport/otlp_span_builder.hpp"
#include "transport/spool.hpp"
#include "transport/spool_transport.hpp"

namespace pb = promptetheus_bench;
namespace d = promptetheus::detail;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kSessions = 2000;
constexpr int kSpansPerSession = 10;
constexpr std::size_t kBatch = 1000;

std::string timestamp(std::uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "2026-03-04T05:%02llu:%02llu.%06lluZ", (n / 60'000'000ULL) % 60,
                (n / 1'000'000ULL) % 60, n % 1'000'000ULL);
  return buf;
}

// The events of the workload, as canonical JSON lines (what the worker hands to a transport).
std::vector<promptetheus::EncodedEvent> workload() {
  std::vector<promptetheus::EncodedEvent> events;
  std::uint64_t clock = 0;
  for (int s = 0; s < kSessions; ++s) {
    const std::string sid = "sess_" + std::to_string(100000 + s);
    std::uint64_t seq = 0;
    auto add = [&](json e, bool ends = false) {
      e["session_id"] = sid;
      e["seq"] = seq;
      e["idempotency_key"] = sid + ":1a2b3c4d:" + std::to_string(seq);
      e["timestamp"] = timestamp(clock += 1375);
      promptetheus::EncodedEvent out;
      out.session_id = sid;
      out.seq = seq++;
      out.json = e.dump(-1, ' ', true);
      out.ends_session = ends;
      events.push_back(std::move(out));
    };
    add({{"type", "state_change"},
         {"payload", {{"name", "session_started"}, {"before", nullptr},
                      {"after", {{"agent", "calendar-agent"}, {"user_goal", "book a room"}, {"tags", json::array()}}}}}});
    for (int k = 0; k < kSpansPerSession; ++k) {
      char hex[33];
      std::snprintf(hex, sizeof hex, "%08x%08x%08x%08x", s + 1, k + 1, 0xabcdef01u, 0x23456789u);
      const std::string span = std::string("span_") + hex;
      auto in_span = [&](json e) {
        e["span_id"] = span;
        return e;
      };
      add(in_span({{"type", "state_change"}, {"payload", {{"name", "span_start"}, {"span_name", "step"}, {"kind", "tool"}}}}));
      add(in_span({{"type", "tool_call"},
                   {"payload", {{"tool_name", "calendar.search"},
                                {"call_id", "5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f"},
                                {"arguments", {{"date", "2024-05-14"}, {"attendees", 3}, {"room", "B2"}}}}}}));
      add(in_span({{"type", "tool_result"},
                   {"payload", {{"call_id", "5f0c2d7e9a8b4c6d1e3f5a7b9c0d2e4f"},
                                {"result", {{"slots", {"10:00", "11:30"}}}},
                                {"error", nullptr}}}}));
      add(in_span({{"type", "llm_call"},
                   {"payload", {{"model", "gpt-4o-mini"}, {"input_tokens", 1200}, {"output_tokens", 300}, {"latency_ms", 850}}}}));
      add(in_span({{"type", "state_change"}, {"payload", {{"name", "span_end"}, {"span_name", "step"}, {"duration_ms", 12.5}}}}));
    }
    add({{"type", "session_end"}, {"payload", {{"status", "completed"}, {"error", nullptr}}}}, true);
  }
  return events;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const int repetitions = argc > 1 ? std::atoi(argv[1]) : 5;
  if (argc > 2 || repetitions < 1) {
    std::fprintf(stderr, "usage: otlp_encode [repetitions]\n");
    return 2;
  }
  const std::vector<promptetheus::EncodedEvent> events = workload();
  std::size_t bytes = 0;
  for (const auto& e : events) bytes += e.json.size();
  std::printf("workload: %zu events, %.0f bytes a line on average; load average before: %s\n", events.size(),
              static_cast<double>(bytes) / static_cast<double>(events.size()), pb::load_average().c_str());

  std::vector<double> encode, parse, spool;
  std::size_t spans_total = 0, request_bytes = 0;
  for (int r = 0; r < repetitions; ++r) {
    {
      d::OtlpSpanBuilder builder;
      std::size_t spans = 0, out_bytes = 0;
      const auto t0 = Clock::now();
      for (std::size_t i = 0; i < events.size(); ++i) {
        builder.add(events[i]);
        if ((i + 1) % kBatch == 0 || i + 1 == events.size()) {
          std::size_t n = 0;
          if (auto request = builder.take_request(n)) {
            spans += n;
            out_bytes += request->size();
          }
        }
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      encode.push_back(static_cast<double>(events.size()) / seconds);
      spans_total = spans;
      request_bytes = out_bytes;
    }
    {
      std::size_t members = 0;
      const auto t0 = Clock::now();
      for (const auto& e : events) members += json::parse(e.json, nullptr, false).size();
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      parse.push_back(static_cast<double>(events.size()) / seconds);
      if (members == 0) std::printf("(nothing parsed)\n");
    }
    {
      pb::ScratchDir dir;
      d::Spool store(dir.path() + "/spool");
      d::SpoolTransport transport(store);
      std::vector<promptetheus::EncodedEvent> copy = events;  // send() may move the lines out
      const auto t0 = Clock::now();
      for (std::size_t i = 0; i < copy.size(); i += kBatch) {
        std::vector<promptetheus::EncodedEvent> batch(std::make_move_iterator(copy.begin() + static_cast<long>(i)),
                                           std::make_move_iterator(copy.begin() + static_cast<long>(std::min(copy.size(), i + kBatch))));
        transport.send(batch, promptetheus::Deadline::none());
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      spool.push_back(static_cast<double>(events.size()) / seconds);
    }
    std::printf("run %d: otlp_encode %.0f events/s   anchor nlohmann_parse %.0f/s   anchor spool_transport %.0f/s\n", r + 1,
                encode.back(), parse.back(), spool.back());
  }
  std::printf("spans written per run: %zu, OTLP JSON per run: %.1f MB\n", spans_total, request_bytes / 1e6);
  std::printf("median of %d: otlp_encode %.0f events/s [%.0f .. %.0f]  target >= 300k: %s\n", repetitions, median(encode),
              *std::min_element(encode.begin(), encode.end()), *std::max_element(encode.begin(), encode.end()),
              median(encode) >= 300000 ? "met" : "MISSED");
  std::printf("median of %d: anchor nlohmann_parse %.0f/s, anchor spool_transport %.0f/s\n", repetitions, median(parse),
              median(spool));
  std::printf("load average after: %s\n", pb::load_average().c_str());
  return 0;
}
