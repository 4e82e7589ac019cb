// Process lifecycle of the default client (DESIGN.md §3 "Lifecycle", contract §4.9): each
// scenario runs in a forked child process, which reports through its exit code; the test process
// itself never calls init(), so scenarios cannot leak into each other.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/context.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/span.hpp"
#include "promptetheus/transport.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using nlohmann::json;
using sdk_test::ChildExit;
using sdk_test::ChildResult;
using sdk_test::run_in_child;
using sdk_test::TempDir;
using sdk_test::wait_child;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

Options child_options(const TempDir& dir) {
  Options o = sdk_test::spool_options(dir);
  o.flush_at_exit = true;
  return o;
}

// Threads of this process whose name is the SDK worker's.
int worker_threads() {
  int count = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (!d) return -1;
  while (dirent* entry = ::readdir(d)) {
    if (entry->d_name[0] == '.') continue;
    std::string comm = sdk_test::read_file(std::string("/proc/self/task/") + entry->d_name + "/comm");
    if (comm.rfind("prom-worker", 0) == 0) ++count;
  }
  ::closedir(d);
  return count;
}

// A destination whose send() never returns until released (it ignores interrupt()).
class StuckTransport : public Transport {
 public:
  void send(std::vector<EncodedEvent>& events, const Deadline&) noexcept override {
    std::unique_lock<std::mutex> lock(mutex_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    sdk_test::set_outcome(events, DeliveryOutcome::delivered);
  }
  bool wait_entered(milliseconds limit) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return entered_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool entered_ = false;
  bool released_ = false;
};

// ThreadSanitizer cannot follow threads started in a child forked from a multi-threaded process
// (it dies, or reports "dup thread with used id"): those scenarios run in the other builds only.
bool thread_sanitizer_cannot_fork_threads() {
#if defined(__SANITIZE_THREAD__)
  WARN("not run under ThreadSanitizer: threads after a multi-threaded fork() are unsupported by it");
  return true;
#else
  return false;
#endif
}

// Under AddressSanitizer (GCC 12's runtime) a child forked while another thread allocates can
// stall in the sanitizer's allocator; seen intermittently in the scenario where the parent's
// worker is busy at fork(). The release build runs these scenarios every time.
bool address_sanitizer_stalls_after_busy_fork() {
#if defined(__SANITIZE_ADDRESS__)
  WARN("not run under AddressSanitizer: its allocator can stall a child forked while another thread allocates");
  return true;
#else
  return false;
#endif
}

std::size_t lines_in(const TempDir& dir, const std::string& session) {
  return sdk_test::read_lines(dir.path / "spool" / (session + ".jsonl")).size();
}

}  // namespace

TEST_CASE("std::quick_exit() without shutdown leaves every event in the spool", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child(
      [&] {
        Options o = child_options(dir);
        o.flush_interval = milliseconds(60000);  // the worker would not write on its own in time
        CHILD_EXPECT(init(o).ok(), 10);
        SessionOptions so;
        so.session_id = "quick-exit-run";
        static Session* s = new Session(so);
        for (int i = 0; i < 1000; ++i) CHILD_EXPECT(s->metric("i", i), 11);
        return 0;
      },
      ChildExit::std_quick_exit);
  REQUIRE(result.exit_code == 0);
  CHECK(result.seconds < 10.0);
  CHECK(lines_in(dir, "quick-exit-run") == 1001);
}

TEST_CASE("exit() without shutdown leaves every event in the spool", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child(
      [&] {
        Options o = child_options(dir);
        o.flush_interval = milliseconds(60000);  // the worker would not write on its own in time
        CHILD_EXPECT(init(o).ok(), 10);
        SessionOptions so;
        so.session_id = "exit-run";
        static Session* s = new Session(so);  // still open at exit: no session_end
        for (int i = 0; i < 1000; ++i) CHILD_EXPECT(s->metric("i", i), 11);
        SessionOptions closed;
        closed.session_id = "closed-run";
        { Session c(closed); c.user_message("done"); }
        return 0;
      },
      ChildExit::exit_with_atexit);
  REQUIRE(result.exit_code == 0);
  CHECK(result.seconds < 10.0);
  auto events = sdk_test::read_events(dir.path / "spool" / "exit-run.jsonl");
  REQUIRE(events.size() == 1001);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].at("seq") == i);
  CHECK(lines_in(dir, "closed-run") == 3);
}

TEST_CASE("_exit() skips the exit hook: queued events are lost, as documented", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child([&] {
    Options o = child_options(dir);
    o.flush_interval = milliseconds(60000);
    CHILD_EXPECT(init(o).ok(), 10);
    SessionOptions so;
    so.session_id = "quick-exit";
    static Session* s = new Session(so);
    for (int i = 0; i < 10; ++i) s->metric("i", i);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  CHECK(lines_in(dir, "quick-exit") == 0);
}

TEST_CASE("shutdown twice: the second call returns at once, later calls are no-ops", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child([&] {
    CHILD_EXPECT(init(child_options(dir)).ok(), 10);
    SessionOptions so;
    so.session_id = "twice";
    {
      Session s(so);
      for (int i = 0; i < 100; ++i) s.metric("i", i);
    }
    CHILD_EXPECT(shutdown(seconds(5)), 11);
    Stats after_first = stats();
    auto start = steady_clock::now();
    CHILD_EXPECT(shutdown(seconds(5)), 12);
    CHILD_EXPECT(flush(seconds(5)), 13);
    CHILD_EXPECT(steady_clock::now() - start < seconds(1), 14);
    CHILD_EXPECT(after_first.enqueued == 102 && after_first.written == 102, 15);
    CHILD_EXPECT(after_first.queue_depth == 0, 16);
    // Calls after shutdown are no-ops.
    SessionOptions late;
    late.session_id = "late";
    Session s(late);
    CHILD_EXPECT(s.id() == "noop", 17);
    CHILD_EXPECT(!s.user_message("x"), 18);
    CHILD_EXPECT(!s.is_recording(), 19);
    CHILD_EXPECT(current().id() == "noop", 20);
    CHILD_EXPECT(stats().enqueued == 102, 21);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  CHECK(lines_in(dir, "twice") == 102);
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "spool" / "late.jsonl"));
}

TEST_CASE("before init every call is a no-op", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child(
      [&] {
        Session s("agent", "goal");
        CHILD_EXPECT(s.id() == "noop", 10);
        CHILD_EXPECT(!s.user_message("x"), 11);
        CHILD_EXPECT(!s.end(), 12);
        CHILD_EXPECT(current().id() == "noop", 13);
        CHILD_EXPECT(flush(milliseconds(100)), 14);
        CHILD_EXPECT(stats().enqueued == 0, 15);
        CHILD_EXPECT(stats().transport.empty(), 16);
        CHILD_EXPECT(shutdown(milliseconds(100)), 17);
        CHILD_EXPECT(worker_threads() == 0, 18);
        return 0;
      },
      ChildExit::exit_with_atexit);
  CHECK(result.exit_code == 0);
}

TEST_CASE("init replaces the default client, the previous one is shut down and its events kept",
          "[sdk][lifecycle]") {
  TempDir first, second;
  auto result = run_in_child([&] {
    CHILD_EXPECT(init(child_options(first)).ok(), 10);
    SessionOptions so;
    so.session_id = "one";
    { Session s(so); s.user_message("to the first spool"); }
    CHILD_EXPECT(init(child_options(second)).ok(), 11);
    so.session_id = "two";
    { Session s(so); s.user_message("to the second spool"); }
    CHILD_EXPECT(shutdown(seconds(5)), 12);
    CHILD_EXPECT(worker_threads() == 0, 13);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  CHECK(lines_in(first, "one") == 3);
  CHECK(lines_in(second, "two") == 3);
  CHECK_FALSE(sdk_test::fs::exists(second.path / "spool" / "one.jsonl"));
}

TEST_CASE("fork: parent and child both record, the child with its own worker thread", "[sdk][lifecycle]") {
  if (thread_sanitizer_cannot_fork_threads() || address_sanitizer_stalls_after_busy_fork()) return;
  TempDir dir;
  auto result = run_in_child([&] {
    CHILD_EXPECT(init(child_options(dir)).ok(), 10);
    SessionOptions po;
    po.session_id = "fork-parent";
    Session parent_session(po);
    for (int i = 0; i < 10; ++i) parent_session.metric("before_fork", i);
    { Span warm(parent_session, "before-fork"); }  // the id generator of this thread is in use
    CHILD_EXPECT(worker_threads() == 1, 11);

    std::fflush(stderr);
    auto start = steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      int code = [&]() -> int {
        CHILD_EXPECT(worker_threads() == 0, 30);  // fork copies only the calling thread
        SessionOptions co;
        co.session_id = "fork-child";
        {
          Session child_session(co);
          for (int i = 0; i < 10; ++i) CHILD_EXPECT(child_session.metric("in_child", i), 31);
          Span after(child_session, "after-fork");
        }
        CHILD_EXPECT(flush(seconds(10)), 32);  // needs a live worker: the child's own
        CHILD_EXPECT(worker_threads() == 1, 33);
        CHILD_EXPECT(stats().written == 14, 34);
        return 0;
      }();
      std::exit(code);  // the exit hook must not touch the parent's thread or hang
    }
    CHILD_EXPECT(pid > 0, 12);
    for (int i = 0; i < 10; ++i) CHILD_EXPECT(parent_session.metric("after_fork", i), 13);
    { Span after(parent_session, "after-fork"); }
    ChildResult child = wait_child(pid, start, seconds(30));
    CHILD_EXPECT(child.exit_code == 0, 14);
    CHILD_EXPECT(parent_session.end(), 15);
    CHILD_EXPECT(flush(seconds(10)), 16);
    CHILD_EXPECT(shutdown(seconds(5)), 17);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  auto parent_events = sdk_test::read_events(dir.path / "spool" / "fork-parent.jsonl");
  auto child_events = sdk_test::read_events(dir.path / "spool" / "fork-child.jsonl");
  CHECK(parent_events.size() == 26);  // + 2 markers of each of the two spans
  CHECK(child_events.size() == 14);
  // The span id generator is re-seeded in the child: the first ids after fork differ.
  std::string parent_span, child_span;
  for (const auto& e : parent_events) {
    if (e.at("payload").value("span_name", "") == "after-fork") parent_span = e.at("span_id");
  }
  for (const auto& e : child_events) {
    if (e.at("payload").value("span_name", "") == "after-fork") child_span = e.at("span_id");
  }
  CHECK_FALSE(parent_span.empty());
  CHECK_FALSE(child_span.empty());
  CHECK(parent_span != child_span);
  for (std::size_t i = 0; i < parent_events.size(); ++i) CHECK(parent_events[i].at("seq") == i);
  for (std::size_t i = 0; i < child_events.size(); ++i) CHECK(child_events[i].at("seq") == i);
}

TEST_CASE("fork: a child continuing the parent's session gets idempotency keys of its own", "[sdk][lifecycle]") {
  if (thread_sanitizer_cannot_fork_threads() || address_sanitizer_stalls_after_busy_fork()) return;
  TempDir dir;
  auto result = run_in_child([&] {
    CHILD_EXPECT(init(child_options(dir)).ok(), 10);
    SessionOptions so;
    so.session_id = "fork-shared";
    Session session(so);
    for (int i = 0; i < 100; ++i) session.metric("before_fork", i);
    std::fflush(stderr);
    auto start = steady_clock::now();
    pid_t pid = ::fork();
    if (pid == 0) {
      int code = [&]() -> int {
        for (int i = 0; i < 100; ++i) CHILD_EXPECT(session.metric("in_child", i), 30);
        CHILD_EXPECT(shutdown(seconds(10)), 31);
        return 0;
      }();
      std::_Exit(code);  // the child leaves the parent's Session open: no session_end from it
    }
    CHILD_EXPECT(pid > 0, 12);
    for (int i = 0; i < 100; ++i) CHILD_EXPECT(session.metric("after_fork", i), 13);
    ChildResult child = wait_child(pid, start, seconds(30));
    CHILD_EXPECT(child.exit_code == 0, 14);
    CHILD_EXPECT(session.end(), 15);
    CHILD_EXPECT(shutdown(seconds(5)), 17);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  auto events = sdk_test::read_events(dir.path / "spool" / "fork-shared.jsonl");
  REQUIRE(events.size() == 1 + 100 + 100 + 100 + 1);
  std::set<std::string> keys;
  std::set<std::string> nonces_of_child, nonces_of_parent;
  for (const auto& e : events) {
    const std::string key = e.at("idempotency_key");
    keys.insert(key);
    const std::string nonce = key.substr(std::string("fork-shared:").size(), 8);
    (e.at("payload").value("name", "") == "in_child" ? nonces_of_child : nonces_of_parent).insert(nonce);
  }
  CHECK(keys.size() == events.size());  // no key twice: a server keeps every event
  REQUIRE(nonces_of_child.size() == 1);
  REQUIRE(nonces_of_parent.size() == 1);
  CHECK(*nonces_of_child.begin() != *nonces_of_parent.begin());
}

TEST_CASE("a std::thread in a forked child records through the child's pipeline", "[sdk][lifecycle]") {
  if (thread_sanitizer_cannot_fork_threads() || address_sanitizer_stalls_after_busy_fork()) return;
  TempDir dir;
  auto result = run_in_child([&] {
    CHILD_EXPECT(init(child_options(dir)).ok(), 10);
    { Session warmup("warm", "up"); }  // the parent process has a running worker before fork
    pid_t pid = ::fork();
    if (pid == 0) {
      int code = [&]() -> int {
        SessionOptions so;
        so.session_id = "threaded-child";
        Session s(so);
        Context ctx = Context::capture();
        bool ok = true;
        std::thread t([&] {
          ContextScope scope(ctx);
          for (int i = 0; i < 50; ++i) ok = current().metric("from_thread", i) && ok;
        });
        t.join();
        CHILD_EXPECT(ok, 40);
        CHILD_EXPECT(s.end(), 41);
        CHILD_EXPECT(shutdown(seconds(10)), 42);
        return 0;
      }();
      ::_exit(code);
    }
    CHILD_EXPECT(pid > 0, 11);
    ChildResult child = wait_child(pid, steady_clock::now(), seconds(30));
    CHILD_EXPECT(child.exit_code == 0, 12);
    CHILD_EXPECT(shutdown(seconds(5)), 13);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  auto events = sdk_test::read_events(dir.path / "spool" / "threaded-child.jsonl");
  REQUIRE(events.size() == 52);
  CHECK(events.back().at("type") == "session_end");
}

TEST_CASE("shutdown returns within its bound while the transport is stuck", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child([&] {
    auto stuck = std::make_shared<StuckTransport>();
    Options o = child_options(dir);
    o.transport_factory = sdk_test::shared_transport(stuck);
    CHILD_EXPECT(init(o).ok(), 10);
    SessionOptions so;
    so.session_id = "stuck";
    Session s(so);
    s.user_message("taken by the stuck send");
    CHILD_EXPECT(stuck->wait_entered(milliseconds(10000)), 11);
    for (int i = 0; i < 10; ++i) s.metric("queued", i);
    auto start = steady_clock::now();
    // A bound a ThreadSanitizer build under load can meet with the spill of the queued events
    // (200 ms was not always enough there); the check below is what holds it to the bound.
    (void)shutdown(milliseconds(1000));
    CHILD_EXPECT(steady_clock::now() - start < seconds(3), 12);
    CHILD_EXPECT(!s.user_message("after shutdown"), 13);
    return 0;
  });
  REQUIRE(result.exit_code == 0);
  // The events the worker never took were spooled by shutdown.
  CHECK(lines_in(dir, "stuck") >= 10);
}

TEST_CASE("exit() returns within the shutdown bound while the transport is stuck", "[sdk][lifecycle]") {
  TempDir dir;
  auto result = run_in_child(
      [&] {
        auto stuck = std::make_shared<StuckTransport>();
        Options o = child_options(dir);
        o.transport_factory = sdk_test::shared_transport(stuck);
        o.shutdown_timeout = milliseconds(300);
        CHILD_EXPECT(init(o).ok(), 10);
        SessionOptions so;
        so.session_id = "stuck-at-exit";
        static Session* s = new Session(so);
        s->user_message("taken by the stuck send");
        CHILD_EXPECT(stuck->wait_entered(milliseconds(10000)), 11);
        for (int i = 0; i < 10; ++i) s->metric("queued", i);
        return 0;
      },
      ChildExit::exit_with_atexit, seconds(30));
  REQUIRE(result.exit_code == 0);
  CHECK(result.seconds < 5.0);
  CHECK(lines_in(dir, "stuck-at-exit") >= 10);
}
