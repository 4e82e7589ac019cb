#include "dev/console_api.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <vector>

#include "analysis/compare.hpp"
#include "analysis/diff.hpp"
#include "analysis/failure_context.hpp"
#include "analysis/failures.hpp"
#include "analysis/fingerprint.hpp"
#include "analysis/fix_brief.hpp"
#include "analysis/reports.hpp"
#include "analysis/session_store.hpp"
#include "analysis/timeline.hpp"
#include "core/percent_decoding.hpp"
#include "dev/artifact_paths.hpp"
#include "dev/console_assets.hpp"

namespace promptetheus::devserver {

using nlohmann::json;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kDefaultEntries = 1000;
constexpr std::size_t kMaxEntries = 5000;
constexpr std::size_t kDefaultSessions = 50;
constexpr std::size_t kMaxSessions = 500;
constexpr const char* kWorkspace = "ws_dev";
const std::vector<std::string> kImageTypes = {"image/png", "image/jpeg", "video/webm"};

template <typename J>
std::string dump(const J& value) {
  return value.dump(-1, ' ', false, J::error_handler_t::replace);
}

void send_text(Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
  set_console_security_headers(res);
}

void send_error(Response& res, int status, const std::string& detail) {
  send_text(res, status, dump(json{{"detail", detail}}));
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A non-negative integer parameter: `fallback` when absent, nothing when malformed.
std::optional<std::size_t> size_param(const std::map<std::string, std::string>& query, const char* name,
                                      std::size_t fallback) {
  auto it = query.find(name);
  if (it == query.end() || it->second.empty()) return fallback;
  if (it->second.size() > 12) return std::nullopt;
  std::size_t value = 0;
  for (char c : it->second) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::size_t>(c - '0');
  }
  return value;
}

std::string param(const std::map<std::string, std::string>& query, const char* name) {
  auto it = query.find(name);
  return it == query.end() ? std::string() : it->second;
}

std::string string_field(const json& row, const char* key) {
  auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The stored events of a trace parsed as one JSONL text, as the CLI reads a session file.
std::optional<analysis::Session> load_session(DevStore& store, const std::string& id) {
  auto events = store.events(id);
  if (!events) return std::nullopt;
  std::string text;
  std::size_t size = 0;
  for (const std::string& e : *events) size += e.size() + 1;
  text.reserve(size);
  for (const std::string& e : *events) {
    text += e;
    text += '\n';
  }
  return analysis::parse_jsonl(std::move(text), id);
}

}  // namespace

struct ConsoleApi::Summary {
  std::string id;
  std::string agent;
  std::string status;
  std::string started_at;  // the first event's timestamp, else the trace's creation time
  std::string search;      // id, agent, goal and error, lowercased
  std::vector<std::string> tags;
  json row;                // the list row
  analysis::SessionFailure failure;
};

namespace {

std::shared_ptr<const ConsoleApi::Summary> summarize(const json& trace, const analysis::Session& session,
                                                     const std::map<std::string, policy::Price>* prices) {
  auto s = std::make_shared<ConsoleApi::Summary>();
  const analysis::Timeline timeline = analysis::build_timeline(session.events, prices, analysis::EntryText::none);
  const analysis::SessionOverview& o = timeline.overview;
  const analysis::Fingerprint fp = analysis::fingerprint_v1(session.events);

  s->id = string_field(trace, "id");
  s->agent = string_field(trace, "agent");
  if (s->agent.empty() && o.agent) s->agent = *o.agent;
  s->status = string_field(trace, "status");
  s->started_at = o.started_at ? *o.started_at : string_field(trace, "started_at");
  std::string goal = string_field(trace, "user_goal");
  if (goal.empty() && o.goal) goal = *o.goal;
  std::string error = string_field(trace, "error");
  if (error.empty() && o.end_error) error = *o.end_error;
  s->search = ascii_lower(s->id + '\n' + s->agent + '\n' + goal + '\n' + error);
  auto tags = trace.find("tags");
  if (tags != trace.end() && tags->is_array()) {
    for (const json& t : *tags) {
      if (t.is_string()) s->tags.push_back(t.get<std::string>());
    }
  }

  json duration = nullptr;
  auto stored_duration = trace.find("duration_ms");
  if (stored_duration != trace.end() && stored_duration->is_number()) {
    duration = *stored_duration;
  } else if (o.duration_ms) {
    duration = *o.duration_ms;
  }
  s->row = json{{"id", s->id},
                {"agent", s->agent.empty() ? json(nullptr) : json(s->agent)},
                {"user_goal", goal},
                {"status", s->status},
                {"error", error.empty() ? json(nullptr) : json(error)},
                {"started_at", s->started_at},
                {"duration_ms", duration},
                {"events", o.events},
                {"llm_calls", o.cost.llm_calls},
                {"input_tokens", o.cost.input_tokens},
                {"output_tokens", o.cost.output_tokens},
                {"tokens", o.cost.tokens()},
                {"cost_usd", o.cost.total_usd},
                {"tags", s->tags},
                {"failures", o.failures},
                {"fingerprint",
                 {{"is_failure", fp.is_failure},
                  {"fingerprint", fp.fingerprint},
                  {"label", fp.label}}}};

  s->failure.session_id = s->id;
  s->failure.agent = s->agent.empty() ? std::nullopt : std::optional<std::string>(s->agent);
  s->failure.started_at = s->started_at.empty() ? std::nullopt : std::optional<std::string>(s->started_at);
  s->failure.fingerprint = fp;
  return s;
}

}  // namespace

std::map<std::string, std::string> parse_query(const std::string& target) {
  std::map<std::string, std::string> out;
  const auto mark = target.find('?');
  if (mark == std::string::npos) return out;
  std::string query = target.substr(mark + 1);
  const auto hash = query.find('#');
  if (hash != std::string::npos) query.resize(hash);
  std::size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    if (amp == std::string::npos) amp = query.size();
    const std::string pair = query.substr(start, amp - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      std::string name = detail::percent_decode(pair.substr(0, eq), /*plus_is_space=*/true);
      std::string value =
          eq == std::string::npos ? std::string() : detail::percent_decode(pair.substr(eq + 1), /*plus_is_space=*/true);
      out.emplace(std::move(name), std::move(value));
    }
    start = amp + 1;
  }
  return out;
}

void set_console_security_headers(Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
                 "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                 "frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cache-Control", "no-store");
}

bool serve_console_asset(const std::string& path, Response& res) {
  const std::string name = path == "/" ? "/index.html" : path;
  for (std::size_t i = 0; i < console_assets::kAssetCount; ++i) {
    const console_assets::Asset& asset = console_assets::kAssets[i];
    if (name == asset.path) {
      res.status = 200;
      res.set_content(std::string(reinterpret_cast<const char*>(asset.data), asset.size), asset.content_type);
      set_console_security_headers(res);
      return true;
    }
  }
  return false;
}

ConsoleApi::ConsoleApi(DevStore& store, std::string data_dir,
                       std::optional<std::map<std::string, policy::Price>> prices)
    : store_(store), data_dir_(std::move(data_dir)), prices_(std::move(prices)) {
  warmer_ = std::thread([this] {
    try {
      std::lock_guard<std::mutex> lock(mutex_);
      refresh_locked();
    } catch (...) {
      // The first read computes what is missing (and reports its error).
    }
  });
}

ConsoleApi::~ConsoleApi() {
  stopping_ = true;
  if (warmer_.joinable()) warmer_.join();
}

void ConsoleApi::invalidate(const std::string& trace_id) {
  {
    std::lock_guard<std::mutex> lock(dirty_mutex_);
    dirty_.insert(trace_id);
  }
  std::lock_guard<std::mutex> lock(analysed_mutex_);
  ++changes_;
  analysed_.erase(std::remove_if(analysed_.begin(), analysed_.end(),
                                 [&](const auto& entry) { return entry.first == trace_id; }),
                  analysed_.end());
}

struct ConsoleApi::Analysed {
  std::shared_ptr<const analysis::Session> session;  // what the timeline's entries point into
  analysis::Timeline timeline;
  std::string head;  // "{"trace":...,"fingerprint":...,"overview":...
  std::string spans;
};

std::shared_ptr<const ConsoleApi::Analysed> ConsoleApi::analysed(const std::string& id) {
  constexpr std::size_t kKept = 4;
  std::uint64_t changes_before = 0;
  {
    std::lock_guard<std::mutex> lock(analysed_mutex_);
    for (auto it = analysed_.begin(); it != analysed_.end(); ++it) {
      if (it->first != id) continue;
      auto found = it->second;
      analysed_.erase(it);
      analysed_.emplace_back(id, found);
      return found;
    }
    changes_before = changes_;
  }
  auto trace = store_.trace(id);
  if (!trace) return nullptr;
  auto loaded = load_session(store_, id);
  if (!loaded) return nullptr;
  auto result = std::make_shared<Analysed>();
  auto session = std::make_shared<const analysis::Session>(std::move(*loaded));
  result->session = session;
  result->timeline = analysis::build_timeline(session->events, prices());
  const analysis::Fingerprint fp = analysis::fingerprint_v1(session->events);
  result->head = "{\"trace\":" + dump(*trace);
  result->head += ",\"fingerprint\":" + dump(analysis::fingerprint_json(fp, *session));
  result->head += ",\"overview\":" + dump(analysis::overview_json(result->timeline.overview));
  result->spans = dump(analysis::spans_json(result->timeline.spans));

  std::lock_guard<std::mutex> lock(analysed_mutex_);
  if (changes_ == changes_before) {  // nothing changed meanwhile: keep it for the next page
    analysed_.emplace_back(id, result);
    if (analysed_.size() > kKept) analysed_.erase(analysed_.begin());
  }
  return result;
}

void ConsoleApi::refresh_locked() {
  // What changed before this point; what changes later stays marked for the next read.
  std::set<std::string> dirty;
  {
    std::lock_guard<std::mutex> lock(dirty_mutex_);
    dirty.swap(dirty_);
  }
  if (!loaded_) {
    for (const json& trace : store_.traces()) {
      if (stopping_) {
        // Interrupted: everything is computed again by the next refresh.
        return;
      }
      const std::string id = string_field(trace, "id");
      auto session = load_session(store_, id);
      if (!session) continue;
      summaries_[id] = summarize(trace, *session, prices());
    }
    loaded_ = true;
    return;
  }
  try {
    for (const std::string& id : dirty) {
      auto trace = store_.trace(id);
      auto session = trace ? load_session(store_, id) : std::nullopt;
      if (!trace || !session) {
        summaries_.erase(id);
        continue;
      }
      summaries_[id] = summarize(*trace, *session, prices());
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(dirty_mutex_);
    dirty_.insert(dirty.begin(), dirty.end());  // computed again by the next read
    throw;
  }
}

void ConsoleApi::analysis(const std::string& id, const std::map<std::string, std::string>& query,
                          Response& res) {
  const auto offset = size_param(query, "offset", 0);
  const auto limit = size_param(query, "limit", kDefaultEntries);
  if (!offset || !limit) return send_error(res, 422, "offset and limit must be non-negative integers");
  const std::size_t page = std::min(*limit, kMaxEntries);

  const auto a = analysed(id);
  if (!a) return send_error(res, 404, "trace not found");
  const std::vector<analysis::TimelineEntry>& all = a->timeline.entries;
  const std::size_t total = all.size();
  const std::size_t first = std::min(*offset, total);
  const std::size_t last = std::min(total, first + page);

  std::string body = a->head;
  body += ",\"total_entries\":" + std::to_string(total);
  body += ",\"offset\":" + std::to_string(first);
  body += ",\"limit\":" + std::to_string(page);
  body += ",\"entries\":";
  analysis::append_entries_json(body, a->timeline, first, last);
  body += ",\"spans\":" + a->spans;
  body += '}';
  send_text(res, 200, std::move(body));
}

void ConsoleApi::sessions(const std::map<std::string, std::string>& query, Response& res) {
  const auto offset = size_param(query, "offset", 0);
  const auto limit = size_param(query, "limit", kDefaultSessions);
  if (!offset || !limit) return send_error(res, 422, "offset and limit must be non-negative integers");
  const std::size_t page = std::min(*limit, kMaxSessions);
  const std::string status = param(query, "status");
  const std::string agent = param(query, "agent");
  const std::string tag = param(query, "tag");
  const std::string q = ascii_lower(param(query, "q"));

  std::vector<std::shared_ptr<const Summary>> matching;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_locked();
    matching.reserve(summaries_.size());
    for (const auto& entry : summaries_) {
      const Summary& s = *entry.second;
      if (!status.empty() && s.status != status) continue;
      if (!agent.empty() && s.agent != agent) continue;
      if (!tag.empty() && std::find(s.tags.begin(), s.tags.end(), tag) == s.tags.end()) continue;
      if (!q.empty() && s.search.find(q) == std::string::npos) continue;
      matching.push_back(entry.second);
    }
  }
  // Newest first; ties by id so that pages are stable.
  std::sort(matching.begin(), matching.end(), [](const auto& a, const auto& b) {
    if (a->started_at != b->started_at) return a->started_at > b->started_at;
    return a->id < b->id;
  });
  const std::size_t first = std::min(*offset, matching.size());
  const std::size_t last = std::min(matching.size(), first + page);
  std::string body = "{\"sessions\":[";
  for (std::size_t i = first; i < last; ++i) {
    if (i != first) body += ',';
    body += dump(matching[i]->row);
  }
  body += "],\"total\":" + std::to_string(matching.size());
  body += ",\"offset\":" + std::to_string(first) + ",\"limit\":" + std::to_string(page) + "}";
  send_text(res, 200, std::move(body));
}

void ConsoleApi::failures(Response& res) {
  std::vector<analysis::SessionFailure> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_locked();
    all.reserve(summaries_.size());
    for (const auto& entry : summaries_) {
      if (entry.second->failure.fingerprint.is_failure) all.push_back(entry.second->failure);
    }
  }
  // group_failures orders sessions within a group by time; give it a deterministic input order.
  std::sort(all.begin(), all.end(),
            [](const auto& a, const auto& b) { return a.session_id < b.session_id; });
  ojson groups = ojson::array();
  for (const analysis::FailureGroup& g : analysis::group_failures(all)) {
    groups.push_back(analysis::failure_group_json(g));
  }
  send_text(res, 200, dump(ojson{{"failures", std::move(groups)}}));
}

void ConsoleApi::diff(const std::map<std::string, std::string>& query, Response& res) {
  const std::string a = param(query, "a");
  const std::string b = param(query, "b");
  if (a.empty() || b.empty()) return send_error(res, 422, "a and b must name two traces");
  auto session_a = load_session(store_, a);
  if (!session_a) return send_error(res, 404, "trace not found: " + a);
  auto session_b = load_session(store_, b);
  if (!session_b) return send_error(res, 404, "trace not found: " + b);

  const analysis::SessionDiff d = analysis::diff_sessions(session_a->events, session_b->events);
  const auto steps = [](const std::vector<analysis::Event>& events) {
    ojson list = ojson::array();
    for (const analysis::Step& s : analysis::extract_steps(events)) {
      list.push_back({{"key", s.key},
                      {"kind", s.kind},
                      {"label", s.label},
                      {"ok", s.ok},
                      {"duration_ms", s.duration_ms ? ojson(*s.duration_ms) : ojson(nullptr)}});
    }
    return list;
  };
  const analysis::SessionComparison comparison = analysis::compare_sessions(session_a->events, session_b->events, prices());
  ojson body{{"a_id", a},
             {"b_id", b},
             {"comparison", analysis::comparison_json(comparison)},
             {"diff", analysis::diff_json(d, *session_a, *session_b)},
             {"a_overview", analysis::overview_json(comparison.a)},
             {"b_overview", analysis::overview_json(comparison.b)},
             {"a_steps", steps(session_a->events)},
             {"b_steps", steps(session_b->events)}};
  send_text(res, 200, dump(body));
}

void ConsoleApi::artifact(const std::string& id, const std::string& artifact_id, Response& res) {
  auto row = store_.artifact(id, artifact_id);
  if (!row) return send_error(res, 404, "artifact not found");
  const std::string type = string_field(*row, "content_type");
  if (std::find(kImageTypes.begin(), kImageTypes.end(), type) == kImageTypes.end()) {
    return send_error(res, 404, "artifact not found");
  }
  // The path is rebuilt from the same encoded parts POST used, never read from the row or the
  // request as given: ids become %XX-encoded segments and the filename is sanitised again.
  const fs::path path = fs::path(data_dir_) / "artifacts" / kWorkspace / safe_path_segment(id) /
                        safe_path_segment(artifact_id) /
                        sanitize_artifact_filename(string_field(*row, "filename"));
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return send_error(res, 404, "artifact bytes not stored");
  std::ifstream in(path, std::ios::binary);
  if (!in) return send_error(res, 404, "artifact bytes not stored");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  res.status = 200;
  res.set_content(std::move(bytes), type);
  set_console_security_headers(res);
  res.set_header("Content-Disposition", "inline");
}

std::optional<json> ConsoleApi::mcp_context(const json& body, Response& res) {
  std::string id;
  for (const char* key : {"session_id", "run_id", "incident_id"}) {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_string()) {
      send_error(res, 422, std::string(key) + " must be a string or null");
      return std::nullopt;
    }
    if (id.empty()) id = it->get<std::string>();
  }
  const bool chosen = id.empty();
  if (chosen) {
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_locked();
    const Summary* newest = nullptr;
    for (const auto& entry : summaries_) {
      const Summary& s = *entry.second;
      if (!s.failure.fingerprint.is_failure) continue;
      if (!newest || s.started_at > newest->started_at || (s.started_at == newest->started_at && s.id > newest->id)) {
        newest = &s;
      }
    }
    if (!newest) {
      send_error(res, 404, "no failed session on this server");
      return std::nullopt;
    }
    id = newest->id;
  }
  const auto session = load_session(store_, id);
  if (!session) {
    send_error(res, 404, "trace not found: " + id);
    return std::nullopt;
  }
  analysis::FailureContextOptions options;
  options.prices = prices();
  json out{{"session_id", id}, {"chosen_as_newest_failed", chosen}};
  out.update(analysis::failure_context(*session, options));
  return out;
}

void ConsoleApi::mcp_failure_context(const json& body, Response& res) {
  if (auto context = mcp_context(body, res)) send_text(res, 200, dump(*context));
}

void ConsoleApi::mcp_fix_brief(const json& body, Response& res) {
  const auto include = body.find("include_evidence");
  if (include != body.end() && !include->is_null() && !include->is_boolean()) {
    return send_error(res, 422, "include_evidence must be a boolean");
  }
  auto context = mcp_context(body, res);
  if (!context) return;
  // A passing run of the same agent, the newest one, to compare with.
  std::optional<std::string> passing;
  {
    const json agent_value = context->contains("session") ? (*context)["session"].value("agent", json(nullptr)) : json();
    const std::string agent = agent_value.is_string() ? agent_value.get<std::string>() : std::string();
    std::lock_guard<std::mutex> lock(mutex_);
    refresh_locked();
    const Summary* newest = nullptr;
    for (const auto& entry : summaries_) {
      const Summary& s = *entry.second;
      if (s.failure.fingerprint.is_failure || s.status != "completed" || agent.empty() || s.agent != agent) continue;
      if (!newest || s.started_at > newest->started_at) newest = &s;
    }
    if (newest) passing = newest->id;
  }
  json brief = analysis::fix_brief(*context, passing);
  if (include == body.end() || include->is_null() || include->get<bool>()) brief["evidence"] = std::move(*context);
  send_text(res, 200, dump(brief));
}

}  // namespace promptetheus::devserver
