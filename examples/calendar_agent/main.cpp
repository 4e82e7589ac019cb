// The calendar booking agent: asked to book Tuesday at 2pm, it searches the calendar with a tool,
// chooses a slot in a traced step, books the wrong day, and records a failed goal check.
// It runs twice: once written with the wrappers, once with explicit Session/Span/ToolCall scopes.
//
// Usage: calendar_agent [wrappers|scopes|both]   (default both)
// Configuration comes from the environment (PROMPTETHEUS_TRANSPORT, PROMPTETHEUS_SPOOL_DIR,
// PROMPTETHEUS_API_KEY, ...); with nothing set, sessions go to .promptetheus/spool/.
#include <promptetheus/promptetheus.hpp>

#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pt = promptetheus;
using json = nlohmann::json;

namespace {

struct Slot {
  std::string day;
  std::string time;
};

void to_json(json& j, const Slot& s) { j = json{{"day", s.day}, {"time", s.time}}; }

// The "calendar API": free slots for a day.
std::vector<Slot> search_calendar(const std::string& day) {
  if (day == "Tuesday") return {{"Tuesday", "2pm"}, {"Tuesday", "3pm"}, {"Wednesday", "2pm"}};
  return {};
}

// The agent's bug: it takes the last slot that matches the time, whatever its day.
Slot choose_slot(const std::vector<Slot>& slots, const std::string& time) {
  Slot chosen;
  for (const auto& s : slots) {
    if (s.time == time) chosen = s;
  }
  return chosen;
}

json book(const Slot& slot) { return json{{"booked", true}, {"day", slot.day}, {"time", slot.time}}; }

std::vector<std::string> goal_mismatches(const Slot& booked) {
  std::vector<std::string> mismatches;
  if (booked.day != "Tuesday") mismatches.push_back("booked " + booked.day + " instead of Tuesday");
  if (booked.time != "2pm") mismatches.push_back("booked " + booked.time + " instead of 2pm");
  return mismatches;
}

const char* kGoal = "Book Tuesday at 2pm";

// Written with the wrappers: observe() opens a session per call, tool() records tool calls,
// traced() records a span.
std::string run_with_wrappers() {
  auto search = pt::tool("calendar.search", search_calendar);
  auto choose = pt::traced("choose_slot", choose_slot);
  auto book_slot = pt::tool("calendar.book", book);

  std::string session_id;
  pt::SessionOptions options;
  options.user_goal = kGoal;
  options.tags = {"demo", "wrappers"};
  auto agent = pt::observe("calendar-agent", options, [&](const std::string& request) {
    auto session = pt::current();
    session_id = session.id();
    session.user_message(request);
    session.llm_call("gpt-4o-mini", {1200, 300, 850});
    auto slots = search("Tuesday");
    Slot slot = choose(slots, "2pm");
    json confirmation = book_slot(slot);
    session.agent_message("Booked " + slot.day + " at " + slot.time + ".");
    auto mismatches = goal_mismatches(slot);
    session.goal_check(mismatches.empty(), mismatches);
    return confirmation;
  });
  agent(std::string(kGoal));
  return session_id;
}

// Written with explicit scopes. The agent notices the failed goal check and raises; the
// exception passes through the Session scope, which records session_end "failed".
std::string run_with_scopes() {
  std::string session_id;
  try {
    pt::SessionOptions options;
    options.agent = "calendar-agent";
    options.user_goal = kGoal;
    options.tags = {"demo", "scopes"};
    pt::Session session(options);
    session_id = session.id();
    session.user_message(kGoal);
    session.llm_call("gpt-4o-mini", {1200, 300, 850});

    std::vector<Slot> slots;
    {
      pt::ToolCall call(session, "calendar.search", {{"day", "Tuesday"}});
      slots = search_calendar("Tuesday");
      call.set_result(slots);
    }
    Slot slot;
    {
      pt::Span step(session, "choose_slot");
      slot = choose_slot(slots, "2pm");
      session.state_change("slot_chosen", nullptr, json(slot));
    }
    {
      pt::ToolCall call(session, "calendar.book", json(slot));
      call.set_result(book(slot));
    }
    session.agent_message("Booked " + slot.day + " at " + slot.time + ".");
    auto mismatches = goal_mismatches(slot);
    session.goal_check(mismatches.empty(), mismatches);
    if (!mismatches.empty()) throw std::runtime_error("agent selected the wrong day");
  } catch (const std::exception& e) {
    std::cerr << "calendar agent failed: " << e.what() << "\n";
  }
  return session_id;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "both";
  if (mode != "wrappers" && mode != "scopes" && mode != "both") {
    std::cerr << "usage: calendar_agent [wrappers|scopes|both]\n";
    return 2;
  }
  auto status = pt::init(pt::Options::from_env());
  if (!status.ok()) std::cerr << "promptetheus: " << status.message() << "\n";
  pt::ShutdownGuard guard;

  if (mode != "scopes") {
    std::string id = run_with_wrappers();
    std::cout << "wrappers session: " << id << std::endl;
  }
  if (mode != "wrappers") {
    std::string id = run_with_scopes();
    std::cout << "scopes session: " << id << std::endl;
  }
  bool flushed = pt::flush(std::chrono::seconds(5));
  auto stats = pt::stats();
  std::cout << "transport " << stats.transport << ": " << stats.written << " event(s) written, "
            << stats.dropped_total() << " dropped" << (flushed ? "" : " (flush timed out)") << "\n";
  return 0;
}
