// W3C Trace Context Level 1 (promptetheus/trace_context.hpp): the traceparent and tracestate
// grammar, vectors written from the specification's rules, and a fuzz of random headers.
#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "promptetheus/trace_context.hpp"

using promptetheus::TraceContext;

namespace {

const std::string kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kParent = "00f067aa0ba902b7";
const std::string kValid = "00-" + kTrace + "-" + kParent + "-01";

}  // namespace

TEST_CASE("traceparent: the specification's example parses and is written back", "[trace_context]") {
  const TraceContext ctx = TraceContext::parse(kValid);
  REQUIRE(ctx.valid());
  CHECK(ctx.trace_id() == kTrace);
  CHECK(ctx.parent_id() == kParent);
  CHECK(ctx.flags() == 0x01);
  CHECK(ctx.sampled());
  CHECK(ctx.traceparent() == kValid);
  CHECK(ctx.trace_id_bytes()[0] == 0x4b);
  CHECK(ctx.parent_id_bytes()[7] == 0xb7);

  const TraceContext unsampled = TraceContext::parse("00-" + kTrace + "-" + kParent + "-00");
  REQUIRE(unsampled.valid());
  CHECK_FALSE(unsampled.sampled());
  // Other flag bits are kept as received (only bit 0 means something in Level 1).
  CHECK(TraceContext::parse("00-" + kTrace + "-" + kParent + "-09").traceparent() ==
        "00-" + kTrace + "-" + kParent + "-09");
  // Spaces and tabs around the value are not part of it.
  CHECK(TraceContext::parse(" \t" + kValid + " ").traceparent() == kValid);
}

TEST_CASE("traceparent: invalid values give no context", "[trace_context]") {
  const std::vector<std::string> invalid = {
      "",
      "00",
      kValid.substr(0, 54),                                    // one character short
      kValid + "-",                                            // version 00 with more after it
      kValid + "-what",
      "ff-" + kTrace + "-" + kParent + "-01",                  // version ff is forbidden
      "0-" + kTrace + "-" + kParent + "-01",                   // version too short
      "0g-" + kTrace + "-" + kParent + "-01",                  // not hex
      "00-" + std::string(32, '0') + "-" + kParent + "-01",    // all-zero trace id
      "00-" + kTrace + "-" + std::string(16, '0') + "-01",     // all-zero parent id
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + kParent + "-01",  // uppercase trace id
      "00-" + kTrace + "-00F067AA0BA902B7-01",                 // uppercase parent id
      "00-" + kTrace + "-" + kParent + "-0A",                  // uppercase flags
      "00-" + kTrace + "-" + kParent + "-0x",                  // flags not hex
      "00_" + kTrace + "-" + kParent + "-01",                  // wrong separators
      "00-" + kTrace + "_" + kParent + "-01",
      "00-" + kTrace + "-" + kParent + "_01",
      "00-" + kTrace.substr(0, 31) + "-" + kParent + "-01",    // trace id one digit short
      "00-" + kTrace + "-" + kParent.substr(0, 15) + "-01",    // parent id one digit short
      "00-" + kTrace + "0-" + kParent + "-01",                 // trace id one digit long
      "00-" + kTrace + "-" + kParent + "-1",
      "00-" + kTrace + "-" + kParent + "-001",
      "00 -" + kTrace + "-" + kParent + "-01",                 // blank inside
      "00-" + kTrace + "-" + kParent + "-01\n",
  };
  for (const std::string& value : invalid) {
    INFO("traceparent: \"" << value << "\"");
    const TraceContext ctx = TraceContext::parse(value, "vendor=kept");
    CHECK_FALSE(ctx.valid());
    CHECK(ctx.traceparent().empty());
    CHECK(ctx.trace_id().empty());
    CHECK(ctx.tracestate().empty());
    CHECK(ctx.headers().empty());
  }
}

TEST_CASE("traceparent: a later version is read by the version 00 layout", "[trace_context]") {
  const TraceContext exact = TraceContext::parse("01-" + kTrace + "-" + kParent + "-01");
  REQUIRE(exact.valid());
  // What follows the flags after a '-' belongs to that version and is not carried on.
  const TraceContext longer = TraceContext::parse("cc-" + kTrace + "-" + kParent + "-01-what-the-future-will-bring");
  REQUIRE(longer.valid());
  CHECK(longer.trace_id() == kTrace);
  CHECK(longer.traceparent() == kValid);
  // ...but the flags must still end at a '-'.
  CHECK_FALSE(TraceContext::parse("cc-" + kTrace + "-" + kParent + "-01what").valid());
}

TEST_CASE("tracestate: members, blanks, limits and the key grammar", "[trace_context]") {
  const auto state = [](const std::string& s) { return TraceContext::parse(kValid, s).tracestate(); };
  CHECK(state("") == "");
  CHECK(state("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE") == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  // Empty members and spaces or tabs around members are allowed, and dropped.
  CHECK(state(" rojo=1 ,\t,congo=2\t, ") == "rojo=1,congo=2");
  CHECK(state(",,,") == "");
  // Keys: simple, multi-tenant, with every allowed character.
  CHECK(state("a0_-*/=x") == "a0_-*/=x");
  CHECK(state("0tenant@system=x,t@s0_-*/=y") == "0tenant@system=x,t@s0_-*/=y");
  // Values may hold spaces inside, and any printable ASCII but ',' and '='.
  CHECK(state("k=a b!~\"") == "k=a b!~\"");
  CHECK(state("k=" + std::string(256, 'v')) == "k=" + std::string(256, 'v'));
  CHECK(state(std::string(256, 'k') + "=v") == std::string(256, 'k') + "=v");

  const std::vector<std::string> invalid = {
      "Rojo=1",                        // uppercase key
      "1rojo=1",                       // a simple key starts with a letter
      "rojo",                          // no '='
      "=1",                            // empty key
      "rojo=",                         // empty value
      "rojo=a=b",                      // '=' in the value
      "rojo=trailing ",                // the value ends with a space... trimmed as OWS, see below
      "rojo=1,rojo=2",                 // repeated key
      "t@=1",                          // empty system id
      "@s=1",                          // empty tenant id
      "t@0s=1",                        // system id starts with a letter
      "t@sssssssssssssss=1",           // system id of 15 characters
      std::string(257, 'k') + "=v",    // key too long
      "k=" + std::string(257, 'v'),    // value too long
      "k=caf\xC3\xA9",                 // non-ASCII
      "k=tab\there",                   // a tab inside a value
  };
  for (const std::string& value : invalid) {
    INFO("tracestate: \"" << value << "\"");
    const TraceContext ctx = TraceContext::parse(kValid, value);
    CHECK(ctx.valid());  // a bad tracestate never invalidates the traceparent
    if (value == "rojo=trailing ") {
      CHECK(ctx.tracestate() == "rojo=trailing");  // the space is OWS around the member
    } else {
      CHECK(ctx.tracestate().empty());
    }
  }

  std::string thirty_two;
  for (int i = 0; i < 32; ++i) thirty_two += (i ? ",k" : "k") + std::to_string(i) + "=v";
  const std::string thirty_three = thirty_two + ",k32=v";
  CHECK(state(thirty_two) == thirty_two);
  CHECK(state(thirty_three).empty());
}

TEST_CASE("trace context headers: extract ignoring case, repeated tracestate joined, inject", "[trace_context]") {
  const TraceContext ctx = TraceContext::extract(std::vector<std::pair<std::string, std::string>>{
      {"Content-Type", "application/json"},
      {"TraceParent", kValid},
      {"tracestate", "rojo=1"},
      {"TRACESTATE", "congo=2"}});
  REQUIRE(ctx.valid());
  CHECK(ctx.tracestate() == "rojo=1,congo=2");
  const auto headers = ctx.headers();
  CHECK(headers.at("traceparent") == kValid);
  CHECK(headers.at("tracestate") == "rojo=1,congo=2");

  CHECK_FALSE(TraceContext::extract(std::map<std::string, std::string>{{"tracestate", "rojo=1"}}).valid());
  CHECK(TraceContext::extract(std::map<std::string, std::string>{{"traceparent", kValid}}).headers().count("tracestate") == 0);
  // Two traceparent headers: which one is meant cannot be known.
  CHECK_FALSE(TraceContext::extract(std::vector<std::pair<std::string, std::string>>{
                                        {"traceparent", kValid}, {"traceparent", kValid}})
                  .valid());
}

TEST_CASE("trace context: a call made from a span, and a new trace", "[trace_context]") {
  const TraceContext incoming = TraceContext::parse(kValid, "rojo=1");
  const TraceContext outgoing = incoming.with_parent("b7ad6b7169203331");
  REQUIRE(outgoing.valid());
  CHECK(outgoing.traceparent() == "00-" + kTrace + "-b7ad6b7169203331-01");
  CHECK(outgoing.tracestate() == "rojo=1");
  CHECK_FALSE(incoming.with_parent("0000000000000000").valid());
  CHECK_FALSE(incoming.with_parent("B7AD6B7169203331").valid());
  CHECK_FALSE(incoming.with_parent("b7ad").valid());
  CHECK_FALSE(TraceContext().with_parent("b7ad6b7169203331").valid());

  const TraceContext a = TraceContext::generate();
  const TraceContext b = TraceContext::generate();
  REQUIRE(a.valid());
  CHECK(a.sampled());
  CHECK(a.trace_id() != b.trace_id());
  CHECK(TraceContext::parse(a.traceparent()).trace_id() == a.trace_id());
  CHECK(TraceContext::parse(a.traceparent()).parent_id() == a.parent_id());
}

TEST_CASE("tracestate over 512 characters: long members go first, then from the right", "[trace_context]") {
  const std::string long_member = "big=" + std::string(200, 'x');
  std::string state = "first=1," + long_member;
  for (int i = 0; i < 40 && state.size() < 700; ++i) state += ",m" + std::to_string(i) + "=" + std::string(20, 'y');
  // 40 members would be over the limit of 32: keep it to 32 members.
  std::string members;
  int count = 0;
  for (std::size_t start = 0; start < state.size() && count < 32; ++count) {
    const auto comma = state.find(',', start);
    members += (members.empty() ? "" : ",") + state.substr(start, comma - start);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  const TraceContext ctx = TraceContext::parse(kValid, members);
  REQUIRE(ctx.tracestate() == members);  // received whole
  const std::string sent = ctx.headers().at("tracestate");
  CHECK(sent.size() <= 512);
  CHECK(sent.rfind("first=1,m0=", 0) == 0);  // the long member went first, order kept
  CHECK(sent.find("big=") == std::string::npos);
  CHECK(members.find(sent) == std::string::npos);  // something was cut...
  CHECK(TraceContext::parse(kValid, sent).tracestate() == sent);  // ...and what is sent is valid
}

TEST_CASE("trace context fuzz: random and mutated headers never crash and stay consistent", "[trace_context]") {
  std::mt19937 rng(20261202);
  const std::string alphabet = "0123456789abcdefABCDEF-_ ,=@*/\t\x01\xff";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int i = 0; i < 20000; ++i) {
    std::string parent = kValid;
    std::string state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE";
    const int edits = static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      std::string& target = rng() % 2 ? parent : state;
      const std::size_t at = target.empty() ? 0 : rng() % target.size();
      switch (rng() % 3) {
        case 0: if (!target.empty()) target[at] = alphabet[pick(rng)]; break;
        case 1: target.insert(at, 1, alphabet[pick(rng)]); break;
        default: if (!target.empty()) target.erase(at, 1); break;
      }
    }
    const TraceContext ctx = TraceContext::parse(parent, state);
    if (!ctx.valid()) {
      CHECK(ctx.headers().empty());
      continue;
    }
    // Whatever was accepted is written in the canonical form, which reads back the same.
    const TraceContext again = TraceContext::parse(ctx.traceparent(), ctx.tracestate());
    REQUIRE(again.valid());
    CHECK(again.trace_id() == ctx.trace_id());
    CHECK(again.parent_id() == ctx.parent_id());
    CHECK(again.flags() == ctx.flags());
    CHECK(again.tracestate() == ctx.tracestate());
    CHECK(ctx.traceparent().size() == 55);
  }
}
