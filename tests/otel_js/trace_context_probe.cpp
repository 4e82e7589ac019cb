// The C++ side of tests/otel_js/trace_context.mjs: the SDK's W3C trace context, driven line by
// line so that the OpenTelemetry JS propagator can be checked against it in both directions.
//
// Each stdin line is one JSON request, answered by one JSON line on stdout (JSON in because
// traceparent/tracestate cases carry spaces and tabs that a word-split line would lose):
//   {"op":"parse","traceparent":T,"tracestate":S}     TraceContext::parse(T, S)
//   {"op":"extract","headers":[[name,value],...]}     TraceContext::extract (repeats kept)
//   {"op":"generate"}                                  TraceContext::generate()
//   {"op":"session","traceparent":T,"tracestate":S}   a Session joined to parse(T, S), with a
//       ToolCall at its top and a Span holding another ToolCall: the contexts each hands on
//   {"op":"live_otlp","endpoint":URL,"traceparent":T,"tracestate":S}
//       a session recorded by a client of its own with PROMPTETHEUS_TRANSPORT=otlp's options, its
//       spans sent live to URL: joined to parse(T, S), spans outer > middle > inner, a failing
//       tool call in middle; answers the session id, the transport's name and the client's OTLP
//       counters after shutdown
// A context answers {valid, trace_id, parent_id, flags, sampled, traceparent, tracestate,
// headers}. Unknown ops answer {"error": ...}. Sessions record into the memory transport (the
// live_otlp client into a spool in a private temporary directory, removed at exit).
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/tool_call.hpp"
#include "promptetheus/trace_context.hpp"

namespace pt = promptetheus;
using nlohmann::json;

namespace {

json describe(const pt::TraceContext& ctx) {
  json headers = json::object();
  for (const auto& [name, value] : ctx.headers()) headers[name] = value;
  return json{{"valid", ctx.valid()},
              {"trace_id", ctx.trace_id()},
              {"parent_id", ctx.parent_id()},
              {"flags", ctx.flags()},
              {"sampled", ctx.sampled()},
              {"traceparent", ctx.traceparent()},
              {"tracestate", ctx.tracestate()},
              {"headers", headers}};
}

json session_contexts(pt::Client& client, const json& request, int n) {
  pt::SessionOptions so;
  so.client = &client;
  so.session_id = "probe_" + std::to_string(n);
  so.agent = "trace-context-probe";
  so.user_goal = "hand the caller's trace on";
  so.trace_context = pt::TraceContext::parse(request.value("traceparent", ""), request.value("tracestate", ""));
  json out;
  {
    pt::Session session(so);
    out["session"] = describe(session.trace_context());
    {
      pt::ToolCall call(session, "lookup", json{{"q", "x"}});
      out["tool"] = describe(call.trace_context());
    }
    {
      pt::Span span(session, "plan");
      out["span_id"] = span.id();
      out["span"] = describe(span.trace_context());
      pt::ToolCall call(session, "fetch", json::object());
      out["tool_in_span"] = describe(call.trace_context());
    }
  }
  return out;
}

json live_otlp(const json& request, const std::filesystem::path& scratch) {
  pt::Options options;
  options.transport = pt::TransportMode::otlp;
  options.otlp_endpoint = request.at("endpoint").get<std::string>();
  options.otlp_resource_attributes = "deployment.environment=test";
  options.spool_dir = (scratch / "live-spool").string();
  options.artifact_dir = (scratch / "artifacts").string();
  options.flush_at_exit = false;
  pt::Client client(options);
  pt::SessionOptions so;
  so.client = &client;
  so.session_id = "live_otlp_session";
  so.agent = "planner";
  so.user_goal = "plan a trip";
  so.trace_context = pt::TraceContext::parse(request.value("traceparent", ""), request.value("tracestate", ""));
  json out;
  {
    pt::Session session(so);
    out["session_id"] = session.id();
    session.user_message("plan it");
    pt::Span outer(session, "outer");
    session.llm_call("gpt-4o-mini", {1200, 300, 850});
    {
      pt::Span middle(session, "middle");
      pt::ToolCall call(session, "search", json{{"q", json::array({1, 2, json{{"deep", nullptr}}})}, {"big", 5000000000LL}});
      call.set_error("TimeoutError: too slow");
      pt::Span inner(session, "inner");
      session.metric("ratio", 0.25);
    }
    session.goal_check(false, {"no trip planned"});
  }
  client.shutdown(std::chrono::seconds(10));
  const pt::Stats stats = client.stats();
  out["transport"] = stats.transport;
  out["otlp_spans_exported"] = stats.otlp_spans_exported;
  out["otlp_spans_pending"] = stats.otlp_spans_pending;
  out["otlp_spans_rejected"] = stats.otlp_spans_rejected;
  out["otlp_spans_dropped"] = stats.otlp_spans_dropped;
  return out;
}

}  // namespace

int main() {
  // The memory transport keeps everything in the process; the spool and artifact directories
  // point at a private temporary directory all the same, so a fallback could not write into
  // the working directory.
  const std::filesystem::path scratch =
      std::filesystem::temp_directory_path() / ("promptetheus-trace-probe-" + std::to_string(::getpid()));
  pt::Options options;
  options.transport = pt::TransportMode::memory;
  options.spool_dir = (scratch / "spool").string();
  options.artifact_dir = (scratch / "artifacts").string();
  options.overflow_to_spool = false;
  options.flush_at_exit = false;
  int status = 0;
  {
    pt::Client client(options);
    std::string line;
    int sessions = 0;
    while (std::getline(std::cin, line)) {
      if (line.empty()) continue;
      json answer;
      try {
        const json request = json::parse(line);
        const std::string op = request.at("op").get<std::string>();
        if (op == "parse") {
          answer = describe(pt::TraceContext::parse(request.value("traceparent", ""), request.value("tracestate", "")));
        } else if (op == "extract") {
          std::vector<std::pair<std::string, std::string>> headers;
          for (const auto& h : request.at("headers")) headers.emplace_back(h.at(0), h.at(1));
          answer = describe(pt::TraceContext::extract(headers));
        } else if (op == "generate") {
          answer = describe(pt::TraceContext::generate());
        } else if (op == "session") {
          answer = session_contexts(client, request, sessions++);
        } else if (op == "live_otlp") {
          answer = live_otlp(request, scratch);
        } else {
          answer = json{{"error", "unknown op " + op}};
        }
      } catch (const std::exception& e) {
        answer = json{{"error", e.what()}};
        status = 1;
      }
      std::cout << answer.dump() << '\n' << std::flush;
    }
    client.shutdown();
  }
  std::error_code ignored;
  std::filesystem::remove_all(scratch, ignored);
  return status;
}
