// The OTLP export of a recorded session and the trace contexts the SDK handed out while it ran
// agree: a service called with Session::trace_context() or Span::trace_context() lands under the
// very spans the export writes, in the same trace.
#include <string>

#include <catch2/catch.hpp>

#include "analysis/otlp_export.hpp"
#include "analysis/session_store.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/trace_context.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using ojson = nlohmann::ordered_json;

namespace {

struct Recorded {
  TraceContext root, outer, inner;
  std::string outer_id, inner_id;
};

// Records session `id` (started under `incoming` when valid) with spans outer > inner to the
// spool of `dir`, keeping the contexts the SDK gives out.
Recorded record(sdk_test::TempDir& dir, const std::string& id, const TraceContext& incoming) {
  Recorded r;
  Client client{sdk_test::spool_options(dir)};
  {
    SessionOptions so = sdk_test::session_on(client, id, "agreeing-agent");
    so.trace_context = incoming;
    Session s(so);
    r.root = s.trace_context();
    Span outer(s, "outer");
    r.outer = outer.trace_context();
    r.outer_id = outer.id();
    {
      Span inner(s, "inner");
      r.inner = inner.trace_context();
      r.inner_id = inner.id();
      (void)s.tool_call("calendar.search", nlohmann::json{{"day", "Tuesday"}});
    }
  }
  REQUIRE(client.flush(std::chrono::seconds(5)));
  return r;
}

const ojson* span_with_id(const ojson& spans, const std::string& promptetheus_id) {
  for (const auto& span : spans) {
    for (const auto& a : span["attributes"]) {
      if (a["key"] == "promptetheus.span_id" && a["value"]["stringValue"] == promptetheus_id) return &span;
    }
  }
  return nullptr;
}

void check_agreement(const Recorded& r, const ojson& doc) {
  const ojson& spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"];
  REQUIRE(spans.size() == 3);
  const ojson& root = spans[0];
  REQUIRE(r.root.valid());
  for (const auto& span : spans) CHECK(span["traceId"] == r.root.trace_id());
  CHECK(root["spanId"] == r.root.parent_id());
  const ojson* outer = span_with_id(spans, r.outer_id);
  const ojson* inner = span_with_id(spans, r.inner_id);
  REQUIRE(outer != nullptr);
  REQUIRE(inner != nullptr);
  CHECK((*outer)["spanId"] == r.outer.parent_id());
  CHECK((*outer)["parentSpanId"] == r.root.parent_id());
  CHECK((*inner)["spanId"] == r.inner.parent_id());
  CHECK((*inner)["parentSpanId"] == r.outer.parent_id());
  CHECK(r.inner.trace_id() == r.root.trace_id());
}

}  // namespace

TEST_CASE("otlp export and trace_context agree for a session started by a traced request", "[sdk][trace_context][otlp]") {
  sdk_test::TempDir dir;
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  const std::string caller = "b7ad6b7169203331";
  const Recorded r =
      record(dir, "agree-traced", TraceContext::parse("00-" + trace + "-" + caller + "-01", "rojo=00f067aa0ba902b7"));
  const auto session = analysis::read_jsonl_file((dir.path / "spool" / "agree-traced.jsonl").string());
  REQUIRE_FALSE(session.events.empty());
  const ojson doc = analysis::otlp_trace_document(session);
  check_agreement(r, doc);
  const ojson& root = doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
  CHECK(root["traceId"] == trace);
  CHECK(root["parentSpanId"] == caller);
  REQUIRE(r.root.tracestate() == "rojo=00f067aa0ba902b7");
  for (const auto& span : doc["resourceSpans"][0]["scopeSpans"][0]["spans"]) {
    CHECK(span["traceState"] == r.root.tracestate());
  }
}

TEST_CASE("otlp export and trace_context agree for a session without an incoming trace", "[sdk][trace_context][otlp]") {
  sdk_test::TempDir dir;
  const Recorded r = record(dir, "agree-derived", TraceContext{});
  const auto session = analysis::read_jsonl_file((dir.path / "spool" / "agree-derived.jsonl").string());
  REQUIRE_FALSE(session.events.empty());
  const ojson doc = analysis::otlp_trace_document(session);
  check_agreement(r, doc);
  CHECK_FALSE(doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0].contains("parentSpanId"));
}
