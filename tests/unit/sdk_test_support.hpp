// Shared fixtures of the SDK core tests: temporary directories, spool readers, and a Client
// configured to write only inside a temporary directory.
#pragma once

#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/session.hpp"
#include "promptetheus/transport.hpp"

namespace sdk_test {

namespace fs = std::filesystem;

// The client owns its transport exclusively; a test that inspects a transport's state after the
// client is gone hands the client this forwarder and keeps the target itself.
template <class Target>
class ForwardingTransport : public promptetheus::Transport {
 public:
  explicit ForwardingTransport(std::shared_ptr<Target> target) : target_(std::move(target)) {}
  void send(std::vector<promptetheus::EncodedEvent>& events, const promptetheus::Deadline& d) noexcept override {
    target_->send(events, d);
  }
  void idle(const promptetheus::Deadline& d) noexcept override { target_->idle(d); }
  void close(const promptetheus::Deadline& d) noexcept override { target_->close(d); }
  void interrupt() noexcept override { target_->interrupt(); }

 private:
  std::shared_ptr<Target> target_;
};

template <class Target>
std::function<std::unique_ptr<promptetheus::Transport>()> shared_transport(std::shared_ptr<Target> target) {
  return [target] { return std::make_unique<ForwardingTransport<Target>>(target); };
}

// A transport target that takes every event as delivered and keeps a copy of it, in arrival
// order (give it to a client with shared_transport()). Thread-safe.
struct Collector {
  std::mutex mutex;
  std::vector<promptetheus::EncodedEvent> events;

  void send(std::vector<promptetheus::EncodedEvent>& batch, const promptetheus::Deadline&) {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto& e : batch) {
      events.push_back(e);
      e.outcome = promptetheus::DeliveryOutcome::delivered;
    }
  }
  void idle(const promptetheus::Deadline&) {}
  void close(const promptetheus::Deadline&) {}
  void interrupt() {}

  /// The events of each session, parsed, in arrival order.
  std::map<std::string, std::vector<nlohmann::json>> by_session() {
    std::lock_guard<std::mutex> lock(mutex);
    std::map<std::string, std::vector<nlohmann::json>> sessions;
    for (const auto& e : events) sessions[e.session_id].push_back(nlohmann::json::parse(e.json));
    return sessions;
  }
};

// Options of a session `id` recorded on `client`.
inline promptetheus::SessionOptions session_on(promptetheus::Client& client, const std::string& id,
                                               const std::string& agent = "test-agent") {
  promptetheus::SessionOptions so;
  so.client = &client;
  so.session_id = id;
  so.agent = agent;
  so.user_goal = "test goal";
  return so;
}

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Sets one outcome on every event of a batch (for test transports).
inline void set_outcome(std::vector<promptetheus::EncodedEvent>& events, promptetheus::DeliveryOutcome outcome) {
  for (auto& e : events) e.outcome = outcome;
}
using nlohmann::json;

// `levels` arrays (or objects {"k": ...}) each holding the next, built without recursion
// (nlohmann::json also destroys them without recursion).
inline json nested_json(int levels, bool objects) {
  json root = objects ? json::object() : json::array();
  json* innermost = &root;
  for (int i = 1; i < levels; ++i) {
    if (objects) {
      innermost = &((*innermost)["k"] = json::object());
    } else {
      innermost->push_back(json::array());
      innermost = &innermost->back();
    }
  }
  return root;
}

/// A fresh directory under /tmp, removed with everything in it on destruction.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/prom-sdk-test-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    path = made ? fs::path(made) : fs::temp_directory_path() / "prom-sdk-test-fallback";
    std::error_code ec;
    fs::create_directories(path, ec);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string str() const { return path.string(); }
};

/// Options that keep every file the pipeline may write inside `dir`, with no exit hook and no
/// environment or config file involved.
inline promptetheus::Options spool_options(const TempDir& dir) {
  promptetheus::Options o;
  o.transport = promptetheus::TransportMode::spool;
  o.spool_dir = (dir.path / "spool").string();
  o.artifact_dir = (dir.path / "artifacts").string();
  o.flush_at_exit = false;
  o.flush_interval = std::chrono::milliseconds(50);
  return o;
}

inline std::vector<std::string> read_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

inline std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Every line of a spool file, parsed, sorted by seq.
inline std::vector<json> read_events(const fs::path& file) {
  std::vector<json> out;
  for (const auto& line : read_lines(file)) out.push_back(json::parse(line));
  std::stable_sort(out.begin(), out.end(),
                   [](const json& a, const json& b) { return a.at("seq").get<long long>() < b.at("seq").get<long long>(); });
  return out;
}

inline std::vector<std::string> types_of(const std::vector<json>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.at("type").get<std::string>());
  return out;
}

inline mode_t file_mode(const fs::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

/// Polls `predicate` until it holds or `limit` passes.
template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return predicate();
}

/// The accounting invariant of Stats: every accepted event is written, dead-lettered, dropped
/// with a reason, or still queued.
inline bool accounted(const promptetheus::Stats& s) {
  return s.enqueued == s.written + s.dead_lettered + s.dropped_queue_full + s.dropped_io_error +
                           s.dropped_shutdown + s.dropped_duplicate + s.queue_depth;
}

// ---- child processes ----------------------------------------------------------------------

// In a child process: report a failed expectation on stderr and leave with `code`.
#define CHILD_EXPECT(condition, code)                                                         \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      std::fprintf(stderr, "child %d: expectation failed: %s (line %d)\n", static_cast<int>(::getpid()), \
                   #condition, __LINE__);                                                     \
      return code;                                                                            \
    }                                                                                         \
  } while (0)

/// How a child process leaves: _exit() (no hooks), exit() (atexit hooks) or std::quick_exit()
/// (at_quick_exit hooks).
enum class ChildExit { quick_exit, exit_with_atexit, std_quick_exit };

struct ChildResult {
  int exit_code = -1;  // -1: killed by a signal, -2: did not finish in time (killed)
  double seconds = 0;
};

// Waits for `pid` for at most `limit`; kills it when it takes longer.
inline ChildResult wait_child(pid_t pid, std::chrono::steady_clock::time_point start, std::chrono::seconds limit) {
  ChildResult result;
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (done < 0) break;
    if (std::chrono::steady_clock::now() - start > limit) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      result.exit_code = -2;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

// Runs `scenario` in a forked child. Its return value is the child's exit code, passed to
// _exit() (no atexit hooks) or to exit() (the SDK's exit hook runs).
inline ChildResult run_in_child(const std::function<int()>& scenario, ChildExit how = ChildExit::quick_exit,
                         std::chrono::seconds limit = std::chrono::seconds(60)) {
  std::fflush(stdout);
  std::fflush(stderr);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 100;
    try {
      code = scenario();
    } catch (...) {
      code = 101;
    }
    if (how == ChildExit::exit_with_atexit) std::exit(code);
    if (how == ChildExit::std_quick_exit) std::quick_exit(code);
    std::fflush(stderr);
    ::_exit(code);
  }
  if (pid < 0) return ChildResult{};
  return wait_child(pid, start, limit);
}

}  // namespace sdk_test
