// A trip-planning agent run that sits in the middle of a distributed trace: it is started by a
// traced request (its W3C `traceparent`/`tracestate` arrive in the TRACEPARENT and TRACESTATE
// environment variables, the carrier OpenTelemetry specifies for processes), records its run
// as a Promptetheus session in that trace, and passes the trace on to the inventory service it
// calls as a tool, so the caller's spans, the run and the callee's spans read as one trace.
//
// Usage: traced_call_agent <inventory URL>
// Delivery is configured from the environment (PROMPTETHEUS_TRANSPORT=http,
// PROMPTETHEUS_API_URL, PROMPTETHEUS_API_KEY, ...), as for every agent using the SDK.
// Prints "session <id>" first, so whoever started the run can look it up.
#include <promptetheus/promptetheus.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace pt = promptetheus;
using json = nlohmann::json;

namespace {

const char* kGoal = "Plan a weekend trip to Lisbon";

std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

struct HttpReply {
  long status = 0;
  std::string body;
  std::string error;  // transport failure, empty when a response arrived
};

// A GET carrying the given headers: the trace context is the whole point of the call.
HttpReply http_get(const std::string& url, const std::map<std::string, std::string>& headers) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  if (!curl) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM; the SDK runs threads
  const CURLcode code = curl_easy_perform(curl);
  if (code == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  } else {
    reply.error = curl_easy_strerror(code);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return reply;
}

// One run: returns whether the inventory answered.
bool plan_trip(const std::string& inventory_url, const pt::TraceContext& incoming) {
  pt::SessionOptions options;
  options.agent = "trip-planner";
  options.user_goal = kGoal;
  options.tags = {"example", "traced-call"};
  // Joins the caller's trace: the session's root span becomes a child of the caller's span.
  options.trace_context = incoming;
  pt::Session session(options);
  std::cout << "session " << session.id() << std::endl;

  session.user_message(kGoal);

  bool answered = false;
  json rooms;
  {
    // The tool call runs inside its own span, so the callee's span nests under that step of
    // the run rather than directly under the session.
    pt::Span step(session, "inventory.lookup");
    pt::ToolCall call(session, "inventory.lookup", {{"city", "Lisbon"}, {"nights", 2}});
    const pt::TraceContext outgoing = call.trace_context();
    std::cout << "calling " << inventory_url << " with traceparent " << outgoing.traceparent() << std::endl;
    const HttpReply reply = http_get(inventory_url, outgoing.headers());
    if (!reply.error.empty()) {
      call.set_error("inventory unreachable: " + reply.error);
    } else if (reply.status != 200) {
      call.set_error("inventory answered HTTP " + std::to_string(reply.status));
    } else {
      rooms = json::parse(reply.body, nullptr, false);
      if (rooms.is_discarded()) {
        call.set_error("inventory answered with invalid JSON");
      } else {
        call.set_result(rooms);
        answered = true;
      }
    }
  }

  if (answered) {
    session.agent_message("Found " + std::to_string(rooms.value("rooms", json::array()).size()) +
                          " rooms in Lisbon for two nights.");
  } else {
    session.agent_message("I could not check availability in Lisbon.");
    session.end("failed", "inventory lookup failed");
  }
  return answered;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: traced_call_agent <inventory URL>\n"
                 "  (TRACEPARENT and TRACESTATE carry the caller's trace context)\n";
    return 2;
  }
  // Before the SDK starts its threads: curl_global_init is not thread-safe in older libcurls.
  // Never paired with curl_global_cleanup, as in the SDK: its worker may still use curl at exit.
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto status = pt::init(pt::Options::from_env());
  if (!status.ok()) std::cerr << "promptetheus: " << status.message() << "\n";
  pt::ShutdownGuard guard;

  // An absent or malformed traceparent is not an error: the run starts a trace of its own.
  const auto incoming = pt::TraceContext::parse(env_or_empty("TRACEPARENT"), env_or_empty("TRACESTATE"));
  if (incoming.valid()) {
    std::cout << "joining trace " << incoming.trace_id() << " under span " << incoming.parent_id() << std::endl;
  } else {
    std::cout << "no valid incoming traceparent: starting a new trace" << std::endl;
  }

  const bool answered = plan_trip(argv[1], incoming);

  // Whoever reads the session next (the caller, a console) expects it delivered when we exit.
  const bool flushed = pt::flush(std::chrono::seconds(10));
  const auto stats = pt::stats();
  std::cout << "transport " << stats.transport << ": " << stats.delivered << " event(s) delivered, "
            << stats.dropped_total() << " dropped" << (flushed ? "" : " (flush timed out)") << std::endl;
  if (!flushed || stats.dropped_total() != 0) return 1;
  return answered ? 0 : 1;
}
