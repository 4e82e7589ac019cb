// Faults at the SDK's boundary: a worker thread that cannot be created.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <system_error>
#include <thread>

#include <catch2/catch.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/session.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using sdk_test::TempDir;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// Makes every new thread fail to start, as pthread_create does when the process is out of
// threads or memory: std::thread throws std::system_error. The default stack size is set larger
// than the address space for as long as this lives.
class ThreadCreationFails {
 public:
  ThreadCreationFails() {
    pthread_attr_t huge;
    pthread_attr_init(&huge);
    active_ = pthread_getattr_default_np(&saved_) == 0 &&
              pthread_attr_setstacksize(&huge, static_cast<std::size_t>(1) << 50) == 0 &&
              pthread_setattr_default_np(&huge) == 0;
    pthread_attr_destroy(&huge);
    if (!active_) return;
    // A runtime may size thread stacks itself (TSan does): then this cannot inject the failure.
    try {
      std::thread t([] {});
      t.join();
      works_ = false;
    } catch (const std::system_error&) {
      works_ = true;
    }
  }
  ~ThreadCreationFails() {
    if (active_) pthread_setattr_default_np(&saved_);
    pthread_attr_destroy(&saved_);
  }
  ThreadCreationFails(const ThreadCreationFails&) = delete;
  ThreadCreationFails& operator=(const ThreadCreationFails&) = delete;
  bool works() const { return active_ && works_; }

 private:
  pthread_attr_t saved_;
  bool active_ = false;
  bool works_ = false;
};

bool same_mask(const sigset_t& a, const sigset_t& b) {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sigismember(&a, sig) != sigismember(&b, sig)) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("a worker thread that cannot start: the caller's signal mask is restored, the client reports an error",
          "[sdk][fault]") {
  TempDir dir;
  // A mask of the caller's own, which the SDK must hand back as it found it.
  sigset_t original, usr2, expected, after;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &usr2, &original) == 0);
  REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &expected) == 0);
  std::optional<Client> client;
  {
    ThreadCreationFails no_threads;
    if (!no_threads.works()) {
      pthread_sigmask(SIG_SETMASK, &original, nullptr);
      WARN("thread creation cannot be made to fail here (the runtime sets thread stack sizes itself)");
      return;
    }
    client.emplace(sdk_test::spool_options(dir));
    REQUIRE(pthread_sigmask(SIG_BLOCK, nullptr, &after) == 0);
  }
  CHECK(same_mask(after, expected));
  CHECK(sigismember(&after, SIGUSR2) == 1);
  CHECK(sigismember(&after, SIGTERM) == sigismember(&original, SIGTERM));

  const Status status = client->status();
  CHECK_FALSE(status.ok());
  CHECK(status.code() == ErrorCode::internal);
  INFO(status.message());

  // The inert client records nothing and returns at once.
  SessionOptions so;
  so.client = &*client;
  so.session_id = "inert";
  {
    Session s(so);
    CHECK_FALSE(s.is_recording());
    CHECK_FALSE(s.user_message("nowhere"));
  }
  auto start = steady_clock::now();
  CHECK(client->flush(milliseconds(1000)));
  CHECK(client->shutdown(milliseconds(1000)));
  CHECK(std::chrono::duration<double>(steady_clock::now() - start).count() < 0.5);
  CHECK(client->stats().enqueued == 0);
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "spool" / "inert.jsonl"));
  client.reset();
  pthread_sigmask(SIG_SETMASK, &original, nullptr);
}
