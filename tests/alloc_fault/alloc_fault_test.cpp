// Out of memory at every allocation of every Session helper, RAII guard, Session and Client
// construction, and of the worker's serialisation: each call is swept over n = 0, 1, 2, ... —
// its (n+1)th allocation fails (once, or from then on) — until it runs without a failure. At
// every step: nothing escapes (the helpers are noexcept: an escape would be std::terminate), a
// call that failed says so (false, an empty id, a no-op handle), a call that succeeded is
// delivered, a failed call leaves nothing behind that changes a later call, and the client's
// counters account for every accepted event.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "alloc_fault/alloc_fault.hpp"
#include "promptetheus/client.hpp"
#include "promptetheus/context.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/tool_call.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using alloc_fault::Mode;
using nlohmann::json;
using sdk_test::TempDir;
using std::chrono::seconds;

namespace {

constexpr long kMaxSteps = 20000;  // a sweep that never ends is a failure, not a hang

// Where nlohmann::json values are made and dropped (the helpers, sessions and guards), one
// allocation fails and the next ones succeed. Not every one after it: nlohmann::json (3.11)
// allocates to destroy a non-empty array or object (it flattens the tree onto a heap stack, to
// avoid recursion), inside its noexcept destructor, so while every allocation fails, destroying
// the caller's own json arguments ends in std::terminate, in any program; nothing a library
// called with them can prevent. The client and the worker's serialisation are also swept with
// every allocation failing from the (n+1)th on.
const Mode kJsonModes[] = {Mode::once};
const Mode kModes[] = {Mode::once, Mode::persistent};

// What is being swept, for a test that dies in std::terminate.
const char* g_label = "";
long g_step = -1;
const char* g_mode = "";

struct TerminateReporter {
  TerminateReporter() {
    std::set_terminate([] {
      std::fprintf(stderr, "std::terminate during %s, mode %s, failing allocation %ld\n", g_label, g_mode, g_step);
      std::abort();
    });
  }
} terminate_reporter;

struct Line {
  std::string session_id;
  std::uint64_t seq = 0;
  std::string json;
};

// Keeps a copy of every line it is given (the pipeline keeps its strings for the next batch).
// Its own allocations may fail too (on the worker): such an event is reported dropped.
class Collector {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept {
    worker_.store(std::this_thread::get_id());
    for (auto& e : events) {
      try {
        std::lock_guard<std::mutex> lock(mutex_);
        lines_.push_back(Line{e.session_id, e.seq, e.json});
        e.outcome = DeliveryOutcome::delivered;
      } catch (...) {
        e.outcome = DeliveryOutcome::dropped;
      }
    }
  }
  void idle(const Deadline&) noexcept {}
  void close(const Deadline&) noexcept {}
  void interrupt() noexcept {}

  std::size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_.size();
  }
  // The lines after the first `from`, of one session.
  std::vector<json> since(std::size_t from, const std::string& session_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<json> out;
    for (std::size_t i = from; i < lines_.size(); ++i) {
      if (lines_[i].session_id == session_id) out.push_back(json::parse(lines_[i].json));
    }
    return out;
  }
  std::vector<Line> lines_since(std::size_t from) {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::vector<Line>(lines_.begin() + static_cast<std::ptrdiff_t>(from), lines_.end());
  }
  std::thread::id worker() const { return worker_.load(); }

 private:
  std::mutex mutex_;
  std::vector<Line> lines_;
  std::atomic<std::thread::id> worker_{};
};

Options collector_options(const TempDir& dir, const std::shared_ptr<Collector>& collector) {
  Options o = sdk_test::spool_options(dir);
  o.transport_factory = sdk_test::shared_transport(collector);
  o.flush_interval = seconds(10);  // the worker runs when a flush asks
  o.log_level = LogLevel::off;     // failures are expected here, thousands of them
  return o;
}

struct Fixture {
  TempDir dir;
  std::shared_ptr<Collector> collector = std::make_shared<Collector>();
  Client client{collector_options(dir, collector)};
  int sessions = 0;

  SessionOptions session_options() {
    SessionOptions so;
    so.client = &client;
    so.session_id = "session-" + std::to_string(++sessions);
    so.agent = "alloc-fault";
    so.user_goal = "run out of memory everywhere";
    so.metadata = {{"team", "reliability"}};
    so.tags = {"first"};
    return so;
  }
};

// Every accepted event was delivered (the worker is not failing here) and nothing is queued.
void check_counters(const Stats& before, const Stats& after) {
  CHECK(after.queue_depth == 0);
  CHECK(sdk_test::accounted(after));
  CHECK(after.enqueued - before.enqueued == after.delivered - before.delivered);
  CHECK(after.dropped_total() == before.dropped_total());
}

using Call = std::function<bool(const SessionHandle&)>;
using Validate = std::function<void(const json& event)>;

// Sweeps one helper. `make` builds the call with its arguments (before the failures are armed);
// the call returns whether the helper reported success, and then one event of `type` must be
// delivered (checked by `validate`), else none. A call that failed is made again, without
// failures, and must then succeed as if the failed one had never happened.
void sweep_helper(const char* label, const std::string& type, const std::function<Call()>& make,
                  const Validate& validate = [](const json&) {}) {
  Fixture f;
  g_label = label;
  for (Mode mode : kJsonModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO(label << ": allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      Session s(f.session_options());
      REQUIRE(s.is_recording());
      REQUIRE(f.client.flush(seconds(5)));
      const std::size_t mark = f.collector->size();
      const Stats before = f.client.stats();
      Call call = make();
      g_step = n;
      alloc_fault::arm(n, mode);
      const bool returned = call(s);
      const unsigned long failures = alloc_fault::disarm();
      g_step = -1;
      REQUIRE(f.client.flush(seconds(5)));
      check_counters(before, f.client.stats());
      auto events = f.collector->since(mark, s.id());
      if (returned) {
        REQUIRE(events.size() == 1);
        CHECK(events[0].at("type") == type);
        validate(events[0]);
      } else {
        CHECK(events.empty());
      }
      if (failures == 0) {
        CHECK(returned);
        break;
      }
      if (!returned) {
        // Nothing of the failed call may show in the next one.
        const std::size_t again_mark = f.collector->size();
        CHECK(make()(s));
        REQUIRE(f.client.flush(seconds(5)));
        auto again = f.collector->since(again_mark, s.id());
        REQUIRE(again.size() == 1);
        CHECK(again[0].at("type") == type);
        validate(again[0]);
      }
      REQUIRE(n < kMaxSteps);
    }
  }
}

const json& payload(const json& event) { return event.at("payload"); }

}  // namespace

TEST_CASE("helpers out of memory: false and nothing recorded, or true and delivered", "[alloc]") {
  const std::string long_text(300, 'x');  // longer than any small-string buffer
  sweep_helper("user_message", "user_message", [&] {
    return [content = long_text, meta = json{{"k", long_text}}](const SessionHandle& s) mutable {
      return s.user_message(std::move(content), std::move(meta));
    };
  }, [&](const json& e) {
    CHECK(payload(e).at("content") == long_text);
    CHECK(e.at("metadata").at("k") == long_text);
  });
  sweep_helper("agent_message", "agent_message", [&] {
    return [content = long_text](const SessionHandle& s) mutable { return s.agent_message(std::move(content)); };
  }, [&](const json& e) { CHECK(payload(e).at("content") == long_text); });
  sweep_helper("tool_call", "tool_call", [&] {
    return [name = long_text, args = json{{"query", long_text}}](const SessionHandle& s) mutable {
      return !s.tool_call(std::move(name), std::move(args)).empty();
    };
  }, [&](const json& e) {
    CHECK(payload(e).at("tool_name") == long_text);
    CHECK(payload(e).at("call_id").get<std::string>().size() == 32);
  });
  sweep_helper("tool_result", "tool_result", [&] {
    return [id = long_text, result = json{{"rows", {1, 2, 3}}},
            error = std::optional<std::string>(std::string(200, 'e'))](const SessionHandle& s) mutable {
      return s.tool_result(std::move(id), std::move(result), std::move(error));
    };
  }, [&](const json& e) { CHECK(payload(e).at("call_id") == long_text); });
  sweep_helper("retrieval", "retrieval", [&] {
    return [query = long_text, docs = json::array({long_text, long_text})](const SessionHandle& s) mutable {
      return s.retrieval(std::move(query), std::move(docs));
    };
  });
  sweep_helper("browser_action", "browser_action", [&] {
    return [target = long_text, url = std::optional<std::string>("https://example.com/" + long_text)](
               const SessionHandle& s) mutable {
      return s.browser_action("click", std::move(target), std::move(url));
    };
  });
  sweep_helper("dom_snapshot", "dom_snapshot", [&] {
    return [url = long_text, text = long_text, values = json{{"field", long_text}},
            warnings = std::vector<std::string>{long_text, long_text}](const SessionHandle& s) mutable {
      return s.dom_snapshot(std::move(url), std::move(text), std::move(values), std::move(warnings));
    };
  }, [&](const json& e) {
    CHECK(payload(e).at("visible_text") == long_text);
    CHECK(payload(e).at("warnings").size() == 2);
  });
  sweep_helper("screenshot", "screenshot", [&] {
    return [bytes = std::vector<std::uint8_t>(1000, 7)](const SessionHandle& s) mutable {
      return s.screenshot(std::move(bytes));
    };
  }, [&](const json& e) { CHECK(payload(e).at("size_bytes") == 1000); });
  sweep_helper("replay_artifact", "replay_artifact", [&] {
    return [bytes = std::vector<std::uint8_t>(1000, 9), type = long_text, map = json{{"0", long_text}}](
               const SessionHandle& s) mutable { return s.replay_artifact(std::move(bytes), std::move(type), std::move(map)); };
  }, [&](const json& e) { CHECK(payload(e).at("artifact_type") == long_text); });
  {
    TempDir files;
    const auto png = files.path / "page.png";
    { std::ofstream(png, std::ios::binary) << std::string(500, 'i'); }
    sweep_helper("screenshot(file)", "screenshot", [&] {
      return [&png](const SessionHandle& s) { return s.screenshot(png); };
    }, [&](const json& e) { CHECK(payload(e).at("size_bytes") == 500); });
  }
  sweep_helper("llm_call", "llm_call", [&] {
    LlmUsage prepared;
    prepared.input_tokens = 10;
    prepared.messages_ref = std::string(100, 'm');
    return [model = long_text, usage = std::move(prepared)](const SessionHandle& s) mutable {
      return s.llm_call(std::move(model), std::move(usage));
    };
  }, [&](const json& e) { CHECK(payload(e).at("model") == long_text); });
  sweep_helper("score", "score", [&] {
    return [name = long_text, comment = std::optional<std::string>(std::string(100, 'c'))](
               const SessionHandle& s) mutable {
      return s.score(std::move(name), 0.5, std::move(comment));
    };
  });
  sweep_helper("metric", "metric", [&] {
    return [name = long_text](const SessionHandle& s) mutable { return s.metric(std::move(name), 1.5, std::string("ms")); };
  });
  sweep_helper("error(exception)", "error", [&] {
    return [failure = std::runtime_error(std::string(200, 'r'))](const SessionHandle& s) {
      return s.error(failure);
    };
  }, [&](const json& e) { CHECK(payload(e).at("message") == std::string(200, 'r')); });
  sweep_helper("error(exception_ptr)", "error", [&] {
    return [failure = std::make_exception_ptr(std::logic_error(std::string(200, 'l')))](const SessionHandle& s) {
      return s.error(failure);
    };
  });
  sweep_helper("error(exception_ptr to a std::string)", "error", [&] {
    return [failure = std::make_exception_ptr(std::string(200, 's'))](const SessionHandle& s) {
      return s.error(failure);
    };
  }, [&](const json& e) { CHECK(payload(e).at("message") == "std::string: " + std::string(200, 's')); });
  sweep_helper("error(message)", "error", [&] {
    return [message = long_text](const SessionHandle& s) mutable {
      return s.error(std::move(message), std::string("ValueError"));
    };
  });
  sweep_helper("goal_check", "goal_check", [&] {
    return [mismatches = std::vector<std::string>{long_text}](const SessionHandle& s) mutable {
      return s.goal_check(false, std::move(mismatches));
    };
  }, [&](const json& e) { CHECK(payload(e).at("mismatches") == json::array({long_text})); });
  sweep_helper("state_change", "state_change", [&] {
    return [name = long_text, before = json{{"a", long_text}}, after = json{{"b", long_text}}](
               const SessionHandle& s) mutable {
      return s.state_change(std::move(name), std::move(before), std::move(after));
    };
  }, [&](const json& e) { CHECK(payload(e).at("name") == long_text); });
  sweep_helper("update_metadata", "state_change", [&] {
    return [values = json{{"step", long_text}, {"more", long_text}}](const SessionHandle& s) mutable {
      return s.update_metadata(std::move(values));
    };
  }, [&](const json& e) {
    CHECK(payload(e).at("name") == "metadata_update");
    CHECK(payload(e).at("after") == json({{"step", long_text}, {"more", long_text}}));
  });
  // The tags a call adds are reported by it: a failed call must not keep them, or the call made
  // again would report none.
  sweep_helper("add_tags", "state_change", [&] {
    return [tags = std::vector<std::string>{"first", long_text + "1", long_text + "2"}](const SessionHandle& s) mutable {
      return s.add_tags(std::move(tags));
    };
  }, [&](const json& e) {
    CHECK(payload(e).at("name") == "tags_added");
    CHECK(payload(e).at("after").at("tags") == json::array({long_text + "1", long_text + "2"}));
  });
  sweep_helper("end", "session_end", [&] {
    return [status = std::string(100, 's'), error = std::optional<std::string>(long_text)](
               const SessionHandle& s) mutable { return s.end(std::move(status), std::move(error)); };
  }, [&](const json& e) { CHECK(payload(e).at("error") == long_text); });
}

TEST_CASE("Session construction out of memory: a recording session with its start, or a no-op", "[alloc]") {
  Fixture f;
  g_label = "Session(SessionOptions)";
  for (Mode mode : kJsonModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO("Session construction: allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      SessionOptions options = f.session_options();
      const std::string id = options.session_id;
      const std::size_t mark = f.collector->size();
      const Stats before = f.client.stats();
      std::optional<Session> s;
      g_step = n;
      alloc_fault::arm(n, mode);
      s.emplace(std::move(options));
      const unsigned long failures = alloc_fault::disarm();
      g_step = -1;
      const bool recording = s->is_recording();
      REQUIRE(f.client.flush(seconds(5)));
      auto events = f.collector->since(mark, id);
      if (recording) {
        CHECK(s->id() == id);
        REQUIRE(events.size() == 1);
        CHECK(payload(events[0]).at("name") == "session_started");
        CHECK(payload(events[0]).at("after").at("tags") == json::array({"first"}));
        CHECK(events[0].at("metadata").at("team") == "reliability");
        CHECK(current().id() == id);
      } else {
        CHECK(s->id() == "noop");
        CHECK(events.empty());
        CHECK_FALSE(s->user_message("into a no-op"));
        CHECK(current().id() == "noop");  // a failed session never becomes current
      }
      s.reset();
      CHECK(current().id() == "noop");
      REQUIRE(f.client.flush(seconds(5)));
      check_counters(before, f.client.stats());
      CHECK(f.collector->since(mark, id).size() == (recording ? 2u : 0u));  // and its end
      if (failures == 0) {
        CHECK(recording);
        break;
      }
      REQUIRE(n < kMaxSteps);
    }
  }
}

TEST_CASE("Session(agent, goal) out of memory on the default client", "[alloc]") {
  TempDir dir;
  auto collector = std::make_shared<Collector>();
  REQUIRE(init(collector_options(dir, collector)).ok());
  g_label = "Session(agent, goal)";
  for (Mode mode : kJsonModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO("Session(agent, goal): allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      std::string agent(100, 'a'), goal(100, 'g');
      const std::size_t mark = collector->size();
      std::optional<Session> s;
      g_step = n;
      alloc_fault::arm(n, mode);
      s.emplace(std::move(agent), std::move(goal));
      const unsigned long failures = alloc_fault::disarm();
      g_step = -1;
      const bool recording = s->is_recording();
      const std::string id = s->id();
      CHECK(current().id() == id);
      s.reset();
      REQUIRE(flush(seconds(5)));
      auto lines = collector->lines_since(mark);
      CHECK(lines.size() == (recording ? 2u : 0u));
      CHECK(sdk_test::accounted(stats()));
      if (failures == 0) {
        CHECK(recording);
        break;
      }
      REQUIRE(n < kMaxSteps);
    }
  }
  CHECK(shutdown(seconds(5)));
}

TEST_CASE("Span and ToolCall guards out of memory: their events pair up, or there are none", "[alloc]") {
  Fixture f;
  const std::string long_name(200, 'n');
  struct Guard {
    const char* label;
    std::string open_type;   // "span_start" (a state_change) or "tool_call"
    std::string close_type;  // "span_end" or "tool_result"
  };
  for (const Guard& guard : {Guard{"Span", "span_start", "span_end"}, Guard{"ToolCall", "tool_call", "tool_result"}}) {
    for (bool fail_on_close : {false, true}) {
      g_label = guard.label;
      for (Mode mode : kJsonModes) {
        g_mode = alloc_fault::name(mode);
        for (long n = 0;; ++n) {
          INFO(guard.label << (fail_on_close ? " destruction" : " construction") << ": allocation " << n
                           << " fails (" << alloc_fault::name(mode) << ")");
          Session s(f.session_options());
          REQUIRE(f.client.flush(seconds(5)));
          const std::size_t mark = f.collector->size();
          const Stats before = f.client.stats();
          std::string name = long_name;
          json meta = {{"m", long_name}};
          json arguments = {{"q", long_name}};
          std::optional<Span> span;
          std::optional<ToolCall> tool;
          g_step = n;
          if (!fail_on_close) alloc_fault::arm(n, mode);
          if (guard.open_type == "span_start") span.emplace(s, std::move(name), std::move(meta));
          else tool.emplace(s, std::move(name), std::move(arguments), std::move(meta));
          unsigned long failures = fail_on_close ? 0 : alloc_fault::disarm();
          const bool open = span ? !span->id().empty() : !tool->call_id().empty();
          if (tool) tool->set_result(json{{"r", long_name}});
          if (fail_on_close) alloc_fault::arm(n, mode);
          span.reset();
          tool.reset();
          if (fail_on_close) failures = alloc_fault::disarm();
          g_step = -1;
          // The next event of the session is outside any span: the guard let go of this thread.
          CHECK(s.user_message("after the guard"));
          REQUIRE(f.client.flush(seconds(5)));
          check_counters(before, f.client.stats());
          auto events = f.collector->since(mark, s.id());
          REQUIRE(!events.empty());
          CHECK(events.back().at("type") == "user_message");
          CHECK((!events.back().contains("span_id") || events.back().at("span_id").is_null()));
          events.pop_back();
          std::vector<std::string> kinds;
          for (const auto& e : events) {
            kinds.push_back(e.at("type") == "state_change" ? payload(e).at("name").get<std::string>()
                                                           : e.at("type").get<std::string>());
          }
          if (!fail_on_close) {
            // A guard is open exactly when its opening event was recorded.
            if (open) {
              REQUIRE(kinds.size() >= 1);
              CHECK(kinds[0] == guard.open_type);
              CHECK(kinds == std::vector<std::string>({guard.open_type, guard.close_type}));
            } else {
              CHECK(kinds.empty());
            }
          } else {
            REQUIRE(open);
            REQUIRE(kinds.size() >= 1);
            CHECK(kinds[0] == guard.open_type);
            CHECK(kinds.size() <= 2);  // the closing event, unless it could not be made
          }
          if (failures == 0) {
            CHECK(kinds == std::vector<std::string>({guard.open_type, guard.close_type}));
            break;
          }
          REQUIRE(n < kMaxSteps);
        }
      }
    }
  }
}

TEST_CASE("Session destruction out of memory: the session ends or says nothing, and stops being current",
          "[alloc]") {
  Fixture f;
  g_label = "~Session";
  for (Mode mode : kJsonModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO("~Session: allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      std::optional<Session> s;
      s.emplace(f.session_options());
      const std::string id = s->id();
      REQUIRE(f.client.flush(seconds(5)));
      const std::size_t mark = f.collector->size();
      const Stats before = f.client.stats();
      g_step = n;
      alloc_fault::arm(n, mode);
      s.reset();
      const unsigned long failures = alloc_fault::disarm();
      g_step = -1;
      CHECK(current().id() == "noop");
      REQUIRE(f.client.flush(seconds(5)));
      check_counters(before, f.client.stats());
      auto events = f.collector->since(mark, id);
      CHECK(events.size() <= 1);
      if (!events.empty()) CHECK(events[0].at("type") == "session_end");
      if (failures == 0) {
        CHECK(events.size() == 1);
        break;
      }
      REQUIRE(n < kMaxSteps);
    }
  }
}

TEST_CASE("Client construction out of memory: the signal mask is kept, and an inert client never reports ok",
          "[alloc]") {
  TempDir dir;
  auto collector = std::make_shared<Collector>();
  sigset_t original, mine;
  sigemptyset(&mine);
  sigaddset(&mine, SIGUSR2);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &mine, &original) == 0);
  sigset_t expected;
  REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &expected) == 0);
  g_label = "Client(Options)";
  for (Mode mode : kModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO("Client construction: allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      Options options = collector_options(dir, collector);
      std::optional<Client> client;
      g_step = n;
      alloc_fault::arm(n, mode);
      client.emplace(std::move(options));
      const unsigned long failures = alloc_fault::disarm();
      g_step = -1;
      sigset_t now;
      REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &now) == 0);
      for (int sig = 1; sig < NSIG; ++sig) {
        INFO("signal " << sig);
        CHECK(sigismember(&now, sig) == sigismember(&expected, sig));
      }
      const Status status = client->status();
      SessionOptions so;
      so.client = &*client;
      so.session_id = "client-" + std::to_string(n);
      const std::size_t mark = collector->size();
      bool recorded = false;
      {
        Session s(so);
        recorded = s.is_recording() && s.user_message("works");
        // An inert client (no worker) never reports ok; one that fell back (to the spool, when
        // the transport factory failed) works and says why.
        if (status.ok()) CHECK(recorded);
        if (!s.is_recording()) CHECK_FALSE(status.ok());
      }
      CHECK(client->flush(seconds(5)));
      const Stats st = client->stats();
      CHECK(sdk_test::accounted(st));
      CHECK(st.queue_depth == 0);
      CHECK(st.written == (recorded ? 3u : 0u));
      if (status.ok()) CHECK(collector->since(mark, so.session_id).size() == 3u);
      client.reset();
      if (failures == 0) {
        CHECK(status.ok());
        break;
      }
      REQUIRE(n < kMaxSteps);
    }
  }
  pthread_sigmask(SIG_SETMASK, &original, nullptr);
}

// The worker's serialisation out of memory: an event that cannot be serialised is counted as
// dropped, and no line of an earlier batch (whose strings the worker reuses) is sent in its place.
TEST_CASE("the worker out of memory: unserialisable events are counted, no stale line is sent", "[alloc]") {
  Fixture f;
  Session s(f.session_options());
  CHECK(s.user_message(std::string(100, 'p')));  // the first batch: its strings stay with the worker
  REQUIRE(f.client.flush(seconds(5)));
  const std::thread::id worker = f.collector->worker();
  REQUIRE(worker != std::thread::id());
  g_label = "worker";
  std::set<std::uint64_t> seen;
  std::uint64_t unserialisable = 0;
  for (Mode mode : kModes) {
    g_mode = alloc_fault::name(mode);
    for (long n = 0;; ++n) {
      INFO("worker: allocation " << n << " fails (" << alloc_fault::name(mode) << ")");
      const std::size_t mark = f.collector->size();
      const Stats before = f.client.stats();
      // Larger than the lines before, so that serialising them allocates.
      const std::string a(2000 + static_cast<std::size_t>(n) * 10, 'a');
      const std::string b(3000 + static_cast<std::size_t>(n) * 10, 'b');
      g_step = n;
      alloc_fault::arm_thread(worker, n, mode);
      CHECK(s.user_message(a));
      CHECK(s.agent_message(b));
      REQUIRE(f.client.flush(seconds(5)));
      const unsigned long failures = alloc_fault::disarm_thread();
      g_step = -1;
      const Stats after = f.client.stats();
      CHECK(after.enqueued - before.enqueued == 2);
      CHECK(after.queue_depth == 0);
      CHECK(sdk_test::accounted(after));
      const auto delivered = after.delivered - before.delivered;
      const auto dropped = after.dropped_io_error - before.dropped_io_error;
      CHECK(delivered + dropped == 2);
      CHECK(after.dropped_total() - before.dropped_total() == dropped);
      unserialisable += dropped;
      auto lines = f.collector->lines_since(mark);
      CHECK(lines.size() == delivered);
      for (const auto& line : lines) {
        json e = json::parse(line.json);
        REQUIRE((e.contains("seq") && e.contains("type") && e.contains("payload")));
        CHECK(e.at("seq") == line.seq);
        CHECK(seen.insert(line.seq).second);  // no line twice
        if (e.at("type") == "user_message") {
          CHECK(e.at("payload").at("content") == a);
        } else {
          CHECK(e.at("type") == "agent_message");
          CHECK(e.at("payload").at("content") == b);
        }
      }
      if (failures == 0) {
        CHECK(delivered == 2);
        break;
      }
      REQUIRE(n < kMaxSteps);
    }
  }
  CHECK(unserialisable > 0);  // the sweep did make serialisation fail
}
