// A spool file locked by another process (a replayer, another SDK process appending to the same
// session, a tool): the worker waits for it within its budget, a caller thread never waits, and
// whatever cannot be written is counted. flock() locks belong to an open file description, so a
// second open() of the file in this process stands in for the other process.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using sdk_test::session_on;
using sdk_test::seconds_since;
using sdk_test::TempDir;
using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

namespace {

// Holds an exclusive flock on `file` (created if missing) through its own open file description.
class LockHolder {
 public:
  explicit LockHolder(const sdk_test::fs::path& file) {
    std::error_code ec;
    sdk_test::fs::create_directories(file.parent_path(), ec);
    fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    locked_ = fd_ >= 0 && ::flock(fd_, LOCK_EX | LOCK_NB) == 0;
  }
  ~LockHolder() { release(); }
  LockHolder(const LockHolder&) = delete;
  LockHolder& operator=(const LockHolder&) = delete;
  bool locked() const { return locked_; }
  void release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    locked_ = false;
  }

 private:
  int fd_ = -1;
  bool locked_ = false;
};

}  // namespace

TEST_CASE("the worker waits for a spool file locked for 500 ms: every event is written", "[sdk][spool][lock]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);  // flush_interval 50 ms: the worker meets the lock at once
  Client client(o);
  const auto file = dir.path / "spool" / "locked.jsonl";
  LockHolder holder(file);
  REQUIRE(holder.locked());
  const auto locked_at = steady_clock::now();
  int accepted = 0;
  {
    Session s(session_on(client, "locked"));
    for (int i = 0; i < 20; ++i) accepted += s.metric("i", i) ? 1 : 0;
  }
  CHECK(accepted == 20);
  std::this_thread::sleep_until(locked_at + milliseconds(500));
  CHECK(client.stats().spooled == 0);  // still waiting: nothing was written, nothing given up
  holder.release();

  REQUIRE(client.flush(seconds(5)));
  Stats st = client.stats();
  CHECK(st.enqueued == 22);
  CHECK(st.spooled == 22);
  CHECK(st.dropped_io_error == 0);
  CHECK(st.dropped_total() == 0);
  CHECK(sdk_test::accounted(st));
  auto events = sdk_test::read_events(file);
  REQUIRE(events.size() == 22);
  for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].at("seq") == i);
}

TEST_CASE("a spool file locked past the worker's budget: events are counted, flush returns in time",
          "[sdk][spool][lock]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  const auto file = dir.path / "spool" / "held.jsonl";
  LockHolder holder(file);
  REQUIRE(holder.locked());
  {
    Session s(session_on(client, "held"));
    for (int i = 0; i < 10; ++i) CHECK(s.metric("i", i));
  }
  auto start = steady_clock::now();
  CHECK_FALSE(client.flush(milliseconds(300)));  // the worker is still waiting for the lock
  CHECK(seconds_since(start) < 1.5);

  // The worker gives up after its budget and counts the events: none is silently lost.
  CHECK(sdk_test::eventually([&] { return client.stats().queue_depth == 0; }, seconds(10)));
  Stats st = client.stats();
  CHECK(st.enqueued == 12);
  CHECK(st.spooled == 0);
  CHECK(st.dropped_io_error == 12);
  CHECK(sdk_test::accounted(st));
  CHECK(sdk_test::read_lines(file).empty());

  // Once the lock is gone, the spool takes events again.
  holder.release();
  {
    Session s(session_on(client, "held"));
    CHECK(s.user_message("after the lock"));
  }
  REQUIRE(client.flush(seconds(5)));
  CHECK(sdk_test::read_lines(file).size() == 3);
  CHECK(sdk_test::accounted(client.stats()));
}

TEST_CASE("shutdown returns within its bound while the worker waits for a locked spool file",
          "[sdk][spool][lock]") {
  TempDir dir;
  Client client(sdk_test::spool_options(dir));
  const auto file = dir.path / "spool" / "stuck.jsonl";
  LockHolder holder(file);
  REQUIRE(holder.locked());
  {
    Session s(session_on(client, "stuck"));
    for (int i = 0; i < 10; ++i) CHECK(s.metric("i", i));
  }
  std::this_thread::sleep_for(milliseconds(150));  // the worker is now waiting for the lock
  auto start = steady_clock::now();
  (void)client.shutdown(milliseconds(1000));
  CHECK(seconds_since(start) < 2.0);
  Stats st = client.stats();
  CHECK(st.enqueued == 12);
  CHECK(st.queue_depth == 0);
  CHECK(st.spooled == 0);
  CHECK(st.dropped_shutdown + st.dropped_io_error == 12);
  CHECK(sdk_test::accounted(st));
}

TEST_CASE("an overflow spill on the calling thread never waits for a locked spool file, and counts the event",
          "[sdk][spool][lock]") {
  TempDir dir;
  Options o = sdk_test::spool_options(dir);
  o.max_queue_events = 2;
  o.flush_interval = seconds(10);  // the worker sleeps: the queue stays full
  o.overflow_to_spool = true;
  Client client(o);
  const auto file = dir.path / "spool" / "spill.jsonl";
  LockHolder holder(file);
  REQUIRE(holder.locked());
  Session s(session_on(client, "spill"));  // session_started: queued (1 of 2)
  CHECK(s.metric("queued", 1));            // queued (2 of 2)
  for (int i = 0; i < 5; ++i) {
    auto start = steady_clock::now();
    CHECK_FALSE(s.metric("spilled", i));  // the queue is full and the spool file is locked
    CHECK(seconds_since(start) < 0.1);
  }
  Stats st = client.stats();
  CHECK(st.enqueued == 7);
  CHECK(st.overflow_spilled == 0);
  CHECK(st.dropped_queue_full == 5);  // the queue was full and the spool could not take them at once
  CHECK(st.dropped_io_error == 0);
  CHECK(st.queue_depth == 2);

  holder.release();
  REQUIRE(client.flush(seconds(5)));
  st = client.stats();
  CHECK(st.spooled == 2);
  CHECK(sdk_test::accounted(st));
  CHECK(sdk_test::read_lines(file).size() == 2);
}
