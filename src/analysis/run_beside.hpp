// Two pieces of work on the two threads a large session is worth: the analysis of a 100,000-event
// session reads every event several times, and these passes do not depend on each other.
#pragma once

#include <exception>
#include <system_error>
#include <thread>
#include <utility>

namespace promptetheus::analysis {

/// Runs `side` on another thread while `here` runs on this one, and returns what `here`
/// returns; both on this thread when no thread can be started. An exception of either (only
/// std::bad_alloc is expected) is rethrown here once both have finished. Blocks until both end.
template <typename Side, typename Here>
auto run_beside(Side&& side, Here&& here) {
  std::exception_ptr side_failure;
  const auto guarded_side = [&] {
    try {
      side();
    } catch (...) {
      side_failure = std::current_exception();
    }
  };
  std::thread helper;
  try {
    helper = std::thread(guarded_side);
  } catch (const std::system_error&) {
    guarded_side();
  }
  struct JoinAtExit {
    std::thread& thread;
    ~JoinAtExit() {
      if (thread.joinable()) thread.join();
    }
  } join_at_exit{helper};
  auto result = here();
  if (helper.joinable()) helper.join();
  if (side_failure) std::rethrow_exception(side_failure);
  return result;
}

}  // namespace promptetheus::analysis
