#include "core/log.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "core/log_sink.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

struct LogState {
  std::mutex mutex;
  LogHandler handler;
  std::atomic<int> min_level{static_cast<int>(Level::warn)};
  std::chrono::steady_clock::time_point last_line{};
  unsigned long suppressed = 0;
};

// Deliberately leaked: logging must keep working during static destruction and atexit.
LogState& state() {
  static LogState* s = [] {
    auto* st = new LogState;
    // Hold the lock across fork() so that a child never inherits it locked by another thread.
    pthread_atfork([] { state().mutex.lock(); }, [] { state().mutex.unlock(); }, [] { state().mutex.unlock(); });
    const char* debug = std::getenv("PROMPTETHEUS_DEBUG");
    if (debug && *debug && std::strcmp(debug, "0") != 0 && std::strcmp(debug, "false") != 0) {
      st->min_level = static_cast<int>(Level::debug);
    }
    return st;
  }();
  return *s;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warning";
    case Level::error: return "error";
  }
  return "?";
}

// Writes with write(2): no iostreams or stdio buffers, which may be gone at exit.
void write_stderr(Level level, std::string_view message, unsigned long suppressed) {
  std::string line = "[promptetheus] ";
  line += level_name(level);
  line += ": ";
  line.append(message.data(), message.size());
  if (suppressed > 0) {
    line += " (";
    line += std::to_string(suppressed);
    line += " similar lines suppressed)";
  }
  line += '\n';
  ssize_t ignored = ::write(2, line.data(), line.size());
  (void)ignored;
}

}  // namespace

void set_log_handler(LogHandler handler, Level min_level) noexcept {
  try {
    auto& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.handler = std::move(handler);
    s.min_level = static_cast<int>(min_level);
  } catch (...) {
  }
}

void log(Level level, std::string_view message) noexcept {
  try {
    auto& s = state();
    if (static_cast<int>(level) < s.min_level.load(std::memory_order_relaxed)) return;
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.handler) {
      s.handler(level, message);
      return;
    }
    // Rate limit the default sink to one line per second (debug output is not limited).
    auto now = std::chrono::steady_clock::now();
    if (level != Level::debug && s.last_line.time_since_epoch().count() != 0 &&
        now - s.last_line < std::chrono::seconds(1)) {
      ++s.suppressed;
      return;
    }
    s.last_line = now;
    write_stderr(level, message, s.suppressed);
    s.suppressed = 0;
  } catch (...) {
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
