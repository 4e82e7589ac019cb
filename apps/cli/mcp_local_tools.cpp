#include "mcp_local_tools.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>

#include "analysis/bounded_json.hpp"
#include "analysis/compare.hpp"
#include "analysis/failure_context.hpp"
#include "analysis/failures.hpp"
#include "analysis/readable_text.hpp"
#include "analysis/replay.hpp"
#include "analysis/timeline.hpp"
#include "analysis/unicode.hpp"
#include "cli_common.hpp"
#include "session_loading.hpp"
#include "spool_summaries.hpp"

namespace promptetheus::cli::mcp {

namespace {

using json = nlohmann::json;

const analysis::JsonBounds kBounds{kMaxStringChars, kMaxItems, kMaxDepth};

// A bad argument: the message the client's model reads.
struct ArgumentError {
  std::string message;
};

// ---- arguments -------------------------------------------------------------------------------

std::optional<std::string> string_arg(const json& args, const char* key) {
  const auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw ArgumentError{std::string("'") + key + "' must be a string."};
  return it->get<std::string>();
}

std::string required_string_arg(const json& args, const char* key) {
  std::optional<std::string> value = string_arg(args, key);
  if (!value || value->empty()) throw ArgumentError{std::string("'") + key + "' is required (a non-empty string)."};
  return *value;
}

// A non-negative integer; `max` clamps it (a page larger than the limit is not an error).
std::size_t count_arg(const json& args, const char* key, std::size_t fallback, std::size_t max, std::size_t min = 0) {
  const auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  if (!it->is_number_integer() || (it->is_number_integer() && !it->is_number_unsigned() && it->get<long long>() < 0)) {
    throw ArgumentError{std::string("'") + key + "' must be a non-negative integer."};
  }
  const auto value = it->get<unsigned long long>();
  return static_cast<std::size_t>(std::clamp<unsigned long long>(value, min, max));
}

// A cursor is the position of the next item, as returned in `next_cursor` (a decimal string);
// an integer is accepted too.
std::size_t cursor_arg(const json& args) {
  const auto it = args.find("cursor");
  if (it == args.end() || it->is_null()) return 0;
  if (it->is_number_unsigned()) return it->get<std::size_t>();
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 12 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return static_cast<std::size_t>(std::stoull(s));
    }
  }
  throw ArgumentError{"'cursor' must be a next_cursor value returned by this tool."};
}

json next_cursor(std::size_t next, std::size_t total) {
  return next < total ? json(std::to_string(next)) : json(nullptr);
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

json text_or_null(const std::optional<std::string>& s) {
  return s ? json(analysis::truncate_text(*s, kMaxStringChars)) : json(nullptr);
}

// ---- where the evidence is -------------------------------------------------------------------

struct Source {
  LocalToolsConfig config;
  bool remote() const { return !config.api.url.empty(); }
  std::string where() const { return remote() ? api_access(config.api).url : analysis::display_path(config.dir); }
};

// A session by id, unique id prefix or file path, or the tool error saying why not.
analysis::Session load(const Source& source, const std::string& target) {
  TargetLookup lookup = look_up_target(target, source.config.dir, source.config.api);
  for (const std::string& note : lookup.notes) print_error(note);
  if (lookup.session) return std::move(*lookup.session);
  std::string message = lookup.not_found.empty() ? lookup.detail : lookup.not_found + " " + lookup.detail;
  throw ArgumentError{message};
}

json read_stats(const analysis::Session& s) {
  return json{{"lines", s.stats.lines}, {"blank", s.stats.blank}, {"malformed", s.stats.malformed},
              {"unreadable", s.stats.unreadable}};
}

std::vector<SpoolSessionSummary> spool_summaries(const Source& source) {
  analysis::DirState state;
  std::string error;
  std::vector<SpoolSessionSummary> summaries = summarise_spool(source.config.dir, state, error);
  if (state == analysis::DirState::unreadable || state == analysis::DirState::not_a_directory) {
    throw ArgumentError{"Could not list the spool directory " + source.where() + (error.empty() ? "" : ": " + error)};
  }
  return summaries;
}

// Newest first (by the first timestamp; sessions without one last), then by id, so pages are stable.
void sort_newest_first(std::vector<SpoolSessionSummary>& summaries) {
  std::stable_sort(summaries.begin(), summaries.end(), [](const SpoolSessionSummary& a, const SpoolSessionSummary& b) {
    const std::string sa = a.overview.started_at.value_or(""), sb = b.overview.started_at.value_or("");
    if (sa != sb) return sa > sb;
    return a.file.stem < b.file.stem;
  });
}

json summary_row(const SpoolSessionSummary& s) {
  const analysis::SessionOverview& o = s.overview;
  return json{{"id", s.file.stem},
              {"status", text_or_null(o.status)},
              {"agent", text_or_null(o.agent)},
              {"goal", text_or_null(o.goal)},
              {"started_at", text_or_null(o.started_at)},
              {"duration_ms", o.duration_ms ? json(*o.duration_ms) : json(nullptr)},
              {"events", o.events},
              {"failures", o.failures},
              {"fingerprint", s.fingerprint.fingerprint.empty() ? json(nullptr) : json(s.fingerprint.fingerprint)},
              {"label", analysis::truncate_text(s.fingerprint.label, kMaxStringChars)},
              {"tags", analysis::bounded(s.tags, kBounds)},
              {"in_outbox", s.file.in_outbox}};
}

// A server's rows (GET /api/sessions) in the same shape as the spool's.
json remote_row(const json& r) {
  auto field = [&](const char* key) {
    const auto it = r.find(key);
    return it == r.end() ? json(nullptr) : analysis::bounded(*it, kBounds);
  };
  json fp = field("fingerprint");
  const bool has_fp = fp.is_object();
  return json{{"id", field("id")},
              {"status", field("status")},
              {"agent", field("agent")},
              {"goal", field("user_goal")},
              {"started_at", field("started_at")},
              {"duration_ms", field("duration_ms")},
              {"events", field("events")},
              {"failures", field("failures")},
              {"fingerprint", has_fp && fp.value("is_failure", false) ? fp.value("fingerprint", json(nullptr)) : json(nullptr)},
              {"label", has_fp ? fp.value("label", json(nullptr)) : json(nullptr)},
              {"tags", field("tags")}};
}

std::string query_param(const char* key, const std::optional<std::string>& value) {
  return value ? std::string("&") + key + "=" + encode_path_segment(*value) : std::string();
}

// ---- list_sessions ---------------------------------------------------------------------------

struct SessionFilter {
  std::optional<std::string> status, agent, tag, text, since;

  bool matches(const SpoolSessionSummary& s) const {
    const analysis::SessionOverview& o = s.overview;
    return matches(s.file.stem, o.status, o.agent, s.tags, o.started_at,
                   o.goal.value_or("") + '\n' + o.end_error.value_or("") + '\n' + s.fingerprint.label);
  }
  // A server's row (remote_row), with its own error text.
  bool matches(const json& row, const std::string& error) const {
    auto str = [&](const char* key) {
      const json& v = row[key];
      return v.is_string() ? std::optional<std::string>(v.get<std::string>()) : std::nullopt;
    };
    std::vector<std::string> tags;
    if (row["tags"].is_array()) {
      for (const json& t : row["tags"]) {
        if (t.is_string()) tags.push_back(t.get<std::string>());
      }
    }
    return matches(str("id").value_or(""), str("status"), str("agent"), tags, str("started_at"),
                   str("goal").value_or("") + '\n' + error + '\n' + str("label").value_or(""));
  }

 private:
  bool matches(const std::string& id, const std::optional<std::string>& s_status, const std::optional<std::string>& s_agent,
               const std::vector<std::string>& s_tags, const std::optional<std::string>& started,
               const std::string& other_text) const {
    if (status && s_status != status) return false;
    if (agent && s_agent != agent) return false;
    if (tag && std::find(s_tags.begin(), s_tags.end(), *tag) == s_tags.end()) return false;
    if (since && (!started || *started < *since)) return false;
    if (text) {
      const std::string haystack = ascii_lower(id + '\n' + s_agent.value_or("") + '\n' + other_text);
      if (haystack.find(ascii_lower(*text)) == std::string::npos) return false;
    }
    return true;
  }
};

// One page of a server's sessions, newest first, filtered. The console route
// (GET /api/console/sessions) filters and pages on the server, which then knows no total here;
// a server with only the reference route (GET /api/sessions, every trace) is filtered and paged
// here.
struct RemotePage {
  json rows = json::array();
  json total = nullptr;
  bool more = false;
};

RemotePage remote_sessions(const Source& source, const SessionFilter& filter, std::size_t cursor, std::size_t limit) {
  const ApiAccess access = api_access(source.config.api);
  RemotePage page;
  json list;
  std::string error;
  const std::string query = "?offset=" + std::to_string(cursor) + "&limit=" + std::to_string(limit) +
                            query_param("status", filter.status) + query_param("agent", filter.agent) +
                            query_param("tag", filter.tag) + query_param("q", filter.text);
  if (fetch_list(access, "/api/console/sessions" + query, "sessions", list, error)) {
    for (const json& r : list) {
      if (!r.is_object()) continue;
      json row = remote_row(r);
      if (filter.since && !(row["started_at"].is_string() && row["started_at"].get<std::string>() >= *filter.since)) continue;
      page.rows.push_back(std::move(row));
    }
    page.more = list.size() >= limit;
    return page;
  }
  std::string reference_error;
  if (!fetch_list(access, "/api/sessions", "sessions", list, reference_error)) {
    throw ArgumentError{"Could not list the sessions at " + access.url + ": " + reference_error};
  }
  std::vector<json> rows;
  for (const json& r : list) {
    if (!r.is_object()) continue;
    json row = remote_row(r);
    const auto e = r.find("error");
    if (filter.matches(row, e != r.end() && e->is_string() ? e->get<std::string>() : std::string())) {
      rows.push_back(std::move(row));
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
    const std::string sa = a["started_at"].is_string() ? a["started_at"].get<std::string>() : "";
    const std::string sb = b["started_at"].is_string() ? b["started_at"].get<std::string>() : "";
    return sa > sb;
  });
  for (std::size_t i = cursor; i < rows.size() && i < cursor + limit; ++i) page.rows.push_back(std::move(rows[i]));
  page.total = rows.size();
  page.more = cursor + limit < rows.size();
  return page;
}

bool looks_like_iso_timestamp(const std::string& s) {
  return s.size() >= 10 && std::isdigit(static_cast<unsigned char>(s[0])) && s[4] == '-' && s[7] == '-';
}

ToolResult list_sessions(const Source& source, const json& args) {
  SessionFilter filter{string_arg(args, "status"), string_arg(args, "agent"), string_arg(args, "tag"),
                       string_arg(args, "text"), string_arg(args, "since")};
  if (filter.since && !looks_like_iso_timestamp(*filter.since)) {
    throw ArgumentError{"'since' must be an ISO 8601 timestamp such as 2026-11-21T20:00:00Z."};
  }
  const std::size_t limit = count_arg(args, "limit", kDefaultListLimit, kMaxListLimit, 1);
  const std::size_t cursor = cursor_arg(args);

  if (source.remote()) {
    RemotePage page = remote_sessions(source, filter, cursor, limit);
    return ToolResult::ok(json{{"source", source.where()},
                               {"sessions", std::move(page.rows)},
                               {"total", std::move(page.total)},
                               {"next_cursor", page.more ? json(std::to_string(cursor + limit)) : json(nullptr)}});
  }
  json rows = json::array();
  std::vector<SpoolSessionSummary> summaries = spool_summaries(source);
  sort_newest_first(summaries);
  std::size_t total = 0;
  for (const SpoolSessionSummary& s : summaries) {
    if (!filter.matches(s)) continue;
    if (total >= cursor && total < cursor + limit) rows.push_back(summary_row(s));
    ++total;
  }
  return ToolResult::ok(json{{"source", source.where()},
                             {"sessions", std::move(rows)},
                             {"total", total},
                             {"next_cursor", next_cursor(cursor + limit, total)}});
}

// ---- get_session -----------------------------------------------------------------------------

json fingerprint_json(const analysis::Fingerprint& fp) {
  return json{{"is_failure", fp.is_failure},
              {"fingerprint", fp.fingerprint.empty() ? json(nullptr) : json(fp.fingerprint)},
              {"label", analysis::truncate_text(fp.label, kMaxStringChars)},
              {"signals", analysis::bounded(fp.signals, kBounds)}};
}

ToolResult get_session(const Source& source, const json& args) {
  const std::string target = required_string_arg(args, "session_id");
  const std::size_t offset = count_arg(args, "offset", 0, SIZE_MAX);
  const std::size_t limit = count_arg(args, "limit", kDefaultEntryLimit, kMaxEntryLimit, 1);
  const analysis::Session session = load(source, target);
  const analysis::Timeline timeline = analysis::build_timeline(session.events, configured_prices());

  json entries = json::array();
  const std::size_t total = timeline.entries.size();
  for (std::size_t i = std::min(offset, total); i < total && i < offset + limit; ++i) {
    const analysis::TimelineEntry& e = timeline.entries[i];
    entries.push_back(json{{"seq", analysis::view_to_json(e.event->seq)},
                           {"type", e.type},
                           {"offset_ms", e.offset_ms ? json(*e.offset_ms) : json(nullptr)},
                           {"depth", e.depth},
                           {"text", e.text},
                           {"failure", e.failure},
                           {"span_id", analysis::bounded(analysis::view_to_json(e.event->span_id), kBounds)}});
  }
  json out{{"session_id", target},
           {"source", session.source},
           {"read", read_stats(session)},
           {"overview", analysis::bounded(json(analysis::overview_json(timeline.overview)), kBounds)},
           {"summary", analysis::summary_line(timeline.overview)},
           {"fingerprint", fingerprint_json(analysis::fingerprint_v1(session.events))},
           {"timeline", std::move(entries)},
           {"total_entries", total},
           {"offset", offset},
           {"next_offset", offset + limit < total ? json(offset + limit) : json(nullptr)}};
  out["run_tree"] = analysis::truncate_text(analysis::render_timeline_tree(session.events, timeline), kMaxTreeChars);
  return ToolResult::ok(std::move(out));
}

// ---- get_events ------------------------------------------------------------------------------

std::vector<std::string> types_arg(const json& args) {
  const auto it = args.find("type");
  if (it == args.end() || it->is_null()) return {};
  if (it->is_string()) return {it->get<std::string>()};
  std::vector<std::string> types;
  if (it->is_array()) {
    for (const json& t : *it) {
      if (!t.is_string()) break;
      types.push_back(t.get<std::string>());
    }
    if (types.size() == it->size()) return types;
  }
  throw ArgumentError{"'type' must be an event type or a list of event types."};
}

std::optional<long double> seq_arg(const json& args, const char* key) {
  const auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::nullopt;
  if (!it->is_number() || it->is_boolean()) throw ArgumentError{std::string("'") + key + "' must be a number."};
  return it->get<long double>();
}

ToolResult get_events(const Source& source, const json& args) {
  const std::string target = required_string_arg(args, "session_id");
  const std::vector<std::string> types = types_arg(args);
  const std::optional<std::string> span = string_arg(args, "span_id");
  const std::optional<long double> seq_from = seq_arg(args, "seq_from"), seq_to = seq_arg(args, "seq_to");
  const std::size_t offset = count_arg(args, "offset", 0, SIZE_MAX);
  const std::size_t limit = count_arg(args, "limit", kDefaultEventLimit, kMaxEventLimit, 1);
  const analysis::Session session = load(source, target);

  json events = json::array();
  std::size_t total = 0;
  for (const analysis::Event* e : analysis::events_in_seq_order(session.events)) {
    if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const std::string& t) { return e->type.string_equals(t); })) {
      continue;
    }
    if (span && !e->span_id.string_equals(*span)) continue;
    const long double seq = analysis::flat_seq_key(e->seq);
    if ((seq_from && seq < *seq_from) || (seq_to && seq > *seq_to)) continue;
    if (total >= offset && total < offset + limit) events.push_back(analysis::bounded(analysis::view_to_json(e->value), kBounds));
    ++total;
  }
  return ToolResult::ok(json{{"session_id", target},
                             {"source", session.source},
                             {"events", std::move(events)},
                             {"total_matching", total},
                             {"offset", offset},
                             {"next_offset", offset + limit < total ? json(offset + limit) : json(nullptr)}});
}

// ---- get_failure_context ---------------------------------------------------------------------

// The newest failed session (by fingerprint, else by status), or nothing.
std::optional<std::string> newest_failed_session(const Source& source) {
  if (source.remote()) {
    const RemotePage newest = remote_sessions(source, {}, 0, kMaxListLimit);
    for (const json& row : newest.rows) {
      if (!row["id"].is_string()) continue;
      // The console route's rows carry the fingerprint verdict; /api/sessions rows only a status.
      const json& fp = row["fingerprint"];
      const bool failed = (fp.is_object() && fp.value("is_failure", false)) ||
                          (row["status"].is_string() && row["status"] == "failed");
      if (failed) return row["id"].get<std::string>();
    }
    return std::nullopt;
  }
  std::vector<SpoolSessionSummary> summaries = spool_summaries(source);
  sort_newest_first(summaries);
  for (const SpoolSessionSummary& s : summaries) {
    if (s.fingerprint.is_failure) return s.file.stem;
  }
  return std::nullopt;
}

ToolResult get_failure_context(const Source& source, const json& args) {
  std::optional<std::string> target;
  for (const char* key : {"session_id", "run_id", "incident_id"}) {
    std::optional<std::string> value = string_arg(args, key);
    if (value && !value->empty() && !target) target = std::move(value);
  }
  analysis::FailureContextOptions options;
  options.events_before = count_arg(args, "events_before", options.events_before, 50);
  options.bounds = kBounds;
  options.prices = configured_prices();
  const bool chosen = !target;
  if (!target) {
    target = newest_failed_session(source);
    if (!target) return ToolResult::error("No failed session in " + source.where() + ".");
  }
  const analysis::Session session = load(source, *target);
  json out{{"session_id", *target}, {"chosen_as_newest_failed", chosen}, {"source", session.source}};
  out.update(analysis::failure_context(session, options));
  return ToolResult::ok(std::move(out));
}

// ---- diff_sessions ---------------------------------------------------------------------------

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

ToolResult diff_sessions(const Source& source, const json& args) {
  const std::string a = required_string_arg(args, "session_a");
  const std::string b = required_string_arg(args, "session_b");
  const analysis::Session sa = load(source, a);
  const analysis::Session sb = load(source, b);
  const analysis::SessionComparison comparison = analysis::compare_sessions(sa.events, sb.events, configured_prices());
  json changes = json::array();
  for (const analysis::ComparisonLine& line : comparison.lines) {
    static const char* const kinds[] = {"added", "removed", "changed", "regressed", "fixed"};
    changes.push_back(json{{"kind", kinds[static_cast<int>(line.kind)]},
                           {"subject", analysis::truncate_text(line.subject, kMaxStringChars)},
                           {"text", analysis::truncate_text(line.text, kMaxStringChars)}});
  }
  json lines = json::array();
  for (const std::string& line : split_lines(analysis::render_comparison(comparison))) {
    lines.push_back(analysis::truncate_text(line, kMaxStringChars));
  }
  return ToolResult::ok(analysis::bounded(json{{"session_a", a},
                                               {"session_b", b},
                                               {"verdict", comparison.verdict()},
                                               {"regressed", comparison.regressed()},
                                               {"diff", std::move(lines)},
                                               {"changes", std::move(changes)}},
                                          analysis::JsonBounds{kMaxStringChars, 200, kMaxDepth}));
}

// ---- search_events ---------------------------------------------------------------------------

// Around the match: up to kSnippetContext bytes either side, cut at code point boundaries.
constexpr std::size_t kSnippetContext = 80;

std::size_t back_to_boundary(std::string_view s, std::size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

std::string snippet(std::string_view text, std::size_t at, std::size_t length) {
  const std::size_t start = back_to_boundary(text, at > kSnippetContext ? at - kSnippetContext : 0);
  const std::size_t end = back_to_boundary(text, std::min(text.size(), at + length + kSnippetContext));
  std::string out = start > 0 ? "…" : "";
  out += analysis::one_line(text.substr(start, end - start));
  if (end < text.size()) out += "…";
  return out;
}

// The payload as compact JSON text: the stored text when it has no escapes (the same text),
// else the parsed value written out, so that "\u00e9" is searched as "é".
std::string payload_text(const analysis::Event& e) {
  const std::string_view raw = e.payload.raw();
  if (raw.find('\\') == std::string_view::npos) return std::string(raw);
  return analysis::view_to_json(e.payload).dump(-1, ' ', false, json::error_handler_t::replace);
}

struct Search {
  std::string needle;  // lower case
  std::optional<std::string> type;
  std::size_t skip = 0, limit = 0;
  std::size_t seen = 0;  // hits so far
  json hits = json::array();

  bool full() const { return seen > skip + limit; }  // one past the page: there is a next one

  void scan(const std::string& session_id, const analysis::Session& session) {
    for (const analysis::Event& e : session.events) {
      if (full()) return;
      if (!e.is_object() || !e.payload.present()) continue;
      if (type && !e.type.string_equals(*type)) continue;
      const std::string text = payload_text(e);
      const std::size_t at = ascii_lower(text).find(needle);
      if (at == std::string::npos) continue;
      if (seen >= skip && seen < skip + limit) {
        hits.push_back(json{{"session_id", session_id},
                            {"seq", analysis::view_to_json(e.seq)},
                            {"type", e.type.is_string() ? json(analysis::one_line(e.type.as_string())) : json(nullptr)},
                            {"snippet", snippet(text, at, needle.size())}});
      }
      ++seen;
    }
  }
};

ToolResult search_events(const Source& source, const json& args) {
  Search search;
  search.needle = ascii_lower(required_string_arg(args, "query"));
  search.type = string_arg(args, "type");
  const std::optional<std::string> only = string_arg(args, "session_id");
  search.limit = count_arg(args, "limit", kDefaultListLimit, kMaxListLimit, 1);
  search.skip = cursor_arg(args);

  std::size_t sessions_searched = 0;
  if (only) {
    search.scan(*only, load(source, *only));
    sessions_searched = 1;
  } else if (source.remote()) {
    const ApiAccess access = api_access(source.config.api);
    const RemotePage newest = remote_sessions(source, {}, 0, kMaxRemoteSearchSessions);
    for (const json& row : newest.rows) {
      if (search.full()) break;
      if (!row["id"].is_string()) continue;
      const std::string id = row["id"].get<std::string>();
      analysis::Session session;
      std::string error;
      if (fetch_session(access, id, session, error) != FetchOutcome::found) continue;
      search.scan(id, session);
      ++sessions_searched;
    }
  } else {
    std::vector<analysis::SpoolFile> files;
    std::string error;
    const analysis::DirState state = analysis::list_spool_pending(source.config.dir, files, &error);
    if (state == analysis::DirState::unreadable || state == analysis::DirState::not_a_directory) {
      throw ArgumentError{"Could not list the spool directory " + source.where() + (error.empty() ? "" : ": " + error)};
    }
    // Session ids are time-ordered (ULIDs): the highest id is the newest run.
    std::sort(files.begin(), files.end(), [](const analysis::SpoolFile& x, const analysis::SpoolFile& y) { return x.stem > y.stem; });
    for (const analysis::SpoolFile& f : files) {
      if (search.full()) break;
      search.scan(f.stem, analysis::read_jsonl_file(f.path));
      ++sessions_searched;
    }
  }
  const bool more = search.full();
  return ToolResult::ok(json{{"source", source.where()},
                             {"query", analysis::truncate_text(search.needle, kMaxStringChars)},
                             {"hits", std::move(search.hits)},
                             {"sessions_searched", sessions_searched},
                             {"next_cursor", more ? json(std::to_string(search.skip + search.limit)) : json(nullptr)}});
}

// ---- list_failures ---------------------------------------------------------------------------

ToolResult list_failures(const Source& source, const json& args) {
  const std::size_t limit = count_arg(args, "limit", kDefaultListLimit, kMaxListLimit, 1);
  const std::size_t cursor = cursor_arg(args);
  const std::size_t examples = count_arg(args, "sessions_per_failure", 5, 20, 1);
  json groups = json::array();
  if (source.remote()) {
    const ApiAccess access = api_access(source.config.api);
    std::string error;
    if (!fetch_list(access, "/api/failures", "failures", groups, error)) {
      throw ArgumentError{"Could not read the failures at " + access.url + ": " + error};
    }
  } else {
    std::vector<analysis::SessionFailure> sessions;
    for (const SpoolSessionSummary& s : spool_summaries(source)) {
      sessions.push_back({s.file.stem, s.overview.agent, s.overview.started_at, s.fingerprint});
    }
    for (const analysis::FailureGroup& g : analysis::group_failures(sessions)) {
      groups.push_back(json(analysis::failure_group_json(g, examples)));
    }
  }
  json page = json::array();
  for (std::size_t i = cursor; i < groups.size() && i < cursor + limit; ++i) {
    json g = groups[i];
    if (g.is_object() && g.contains("sessions") && g["sessions"].is_array() && g["sessions"].size() > examples) {
      g["sessions"].get_ref<json::array_t&>().resize(examples);
    }
    page.push_back(analysis::bounded(g, kBounds));
  }
  return ToolResult::ok(json{{"source", source.where()},
                             {"failures", std::move(page)},
                             {"total", groups.size()},
                             {"next_cursor", next_cursor(cursor + limit, groups.size())}});
}

// ---- the tool set ----------------------------------------------------------------------------

json object_schema(json properties, std::vector<std::string> required = {}) {
  json schema{{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

const json kString{{"type", "string"}};
const json kNullableString{{"type", json::array({"string", "null"})}};
json described(json schema, const char* description) {
  schema["description"] = description;
  return schema;
}
json limit_schema(std::size_t fallback, std::size_t max) {
  return json{{"type", "integer"}, {"minimum", 1}, {"default", fallback},
              {"description", "Items per page (at most " + std::to_string(max) + ")"}};
}
const json kCursor = described(json{{"type", "string"}}, "next_cursor of the previous page");
const json kOffset{{"type", "integer"}, {"minimum", 0}, {"description", "Position of the first item (next_offset of the previous page)"}};
const json kSessionId = described(kString, "Session id, a unique prefix of one, or the path of an exported session file");

using Handler = ToolResult (*)(const Source&, const json&);

Tool make_tool(std::shared_ptr<const Source> source, std::string name, std::string title, std::string description,
               json input, json output, Handler handler) {
  Tool tool;
  tool.name = std::move(name);
  tool.title = std::move(title);
  tool.description = std::move(description);
  tool.input_schema = std::move(input);
  tool.output_schema = std::move(output);
  tool.call = [source, handler](const json& args) {
    try {
      return handler(*source, args);
    } catch (const ArgumentError& e) {
      return ToolResult::error(e.message);
    }
  };
  return tool;
}

}  // namespace

ToolSet local_tools(const LocalToolsConfig& config) {
  auto source = std::make_shared<const Source>(Source{config});
  ToolSet tools;
  tools.push_back(make_tool(
      source, "list_sessions", "List recorded sessions",
      "Lists the recorded agent sessions, newest first, each with its id, status, agent, start, duration, "
      "event count and failure fingerprint label. Filters: status (e.g. failed), agent, tag, text (in id, agent, "
      "goal, end error, failure label; case-insensitive), since (ISO timestamp). Paged with limit and cursor.",
      object_schema({{"status", kString}, {"agent", kString}, {"tag", kString}, {"text", kString},
                     {"since", described(kString, "ISO 8601 timestamp: sessions started at or after it")},
                     {"limit", limit_schema(kDefaultListLimit, kMaxListLimit)}, {"cursor", kCursor}}),
      object_schema({{"sessions", {{"type", "array"}}}, {"next_cursor", kNullableString}}, {"sessions", "next_cursor"}),
      list_sessions));
  tools.push_back(make_tool(
      source, "get_session", "Read one session",
      "One session: its header and totals, failure fingerprint, the readable timeline (one line per event, "
      "failures marked) paged with offset and limit, and the run tree (spans with their events).",
      object_schema({{"session_id", kSessionId}, {"offset", kOffset}, {"limit", limit_schema(kDefaultEntryLimit, kMaxEntryLimit)}},
                    {"session_id"}),
      object_schema({{"session_id", kString}, {"timeline", {{"type", "array"}}}, {"total_entries", {{"type", "integer"}}}},
                    {"session_id", "timeline", "total_entries"}),
      get_session));
  tools.push_back(make_tool(
      source, "get_events", "Read raw events",
      "The raw events of a session in seq order, long strings truncated. Filters: type (one type or a list), "
      "span_id, seq_from and seq_to (inclusive). Paged with offset and limit.",
      object_schema({{"session_id", kSessionId},
                     {"type", {{"anyOf", json::array({kString, {{"type", "array"}, {"items", kString}}})}}},
                     {"span_id", kString}, {"seq_from", {{"type", "number"}}}, {"seq_to", {{"type", "number"}}},
                     {"offset", kOffset}, {"limit", limit_schema(kDefaultEventLimit, kMaxEventLimit)}},
                    {"session_id"}),
      object_schema({{"events", {{"type", "array"}}}, {"total_matching", {{"type", "integer"}}}}, {"events", "total_matching"}),
      get_events));
  tools.push_back(make_tool(
      source, "get_failure_context", "Why did this run fail",
      "Everything needed first to debug a failed run: failure fingerprint and signals, the failed tool calls with "
      "their arguments, results and errors, error events, failed goal checks, how the session ended, the events "
      "just before the first failure, and the screenshot paths. Without an id: the newest failed session.",
      object_schema({{"session_id", kSessionId}, {"run_id", described(kString, "Same as session_id")},
                     {"incident_id", described(kString, "Same as session_id")},
                     {"events_before", {{"type", "integer"}, {"minimum", 0}, {"default", 10},
                                        {"description", "Timeline entries kept before the first failure (at most 50)"}}}}),
      object_schema({{"session_id", kString}, {"failed", {{"type", "boolean"}}}, {"fingerprint", {{"type", "object"}}}},
                    {"session_id", "failed", "fingerprint"}),
      get_failure_context));
  tools.push_back(make_tool(
      source, "diff_sessions", "Compare two sessions",
      "Compares session_a (e.g. a passing run) with session_b (e.g. a failing one): status, end error, goal checks, "
      "each tool's calls and failures, errors, LLM calls, tokens, cost and durations, with a verdict (REGRESSED: ..., "
      "changed, no regression, or no differences).",
      object_schema({{"session_a", kSessionId}, {"session_b", kSessionId}}, {"session_a", "session_b"}),
      object_schema({{"verdict", kString}, {"regressed", {{"type", "boolean"}}}, {"diff", {{"type", "array"}}}},
                    {"verdict", "regressed", "diff"}),
      diff_sessions));
  tools.push_back(make_tool(
      source, "search_events", "Search event payloads",
      "Finds events whose payload contains the query (ASCII case-insensitive), newest sessions first; each hit has "
      "the session id, seq, type and a snippet. Optional: session_id (search one session), type. Paged with limit "
      "and cursor.",
      object_schema({{"query", kString}, {"session_id", kSessionId}, {"type", kString},
                     {"limit", limit_schema(kDefaultListLimit, kMaxListLimit)}, {"cursor", kCursor}},
                    {"query"}),
      object_schema({{"hits", {{"type", "array"}}}, {"next_cursor", kNullableString}}, {"hits", "next_cursor"}),
      search_events));
  tools.push_back(make_tool(
      source, "list_failures", "Group failures",
      "Failed sessions grouped by failure fingerprint, most frequent first: label, signals, count, first and last "
      "seen, agents and example session ids. Paged with limit and cursor.",
      object_schema({{"limit", limit_schema(kDefaultListLimit, kMaxListLimit)}, {"cursor", kCursor},
                     {"sessions_per_failure", {{"type", "integer"}, {"minimum", 1}, {"default", 5},
                                               {"description", "Example session ids per failure (at most 20)"}}}}),
      object_schema({{"failures", {{"type", "array"}}}, {"next_cursor", kNullableString}}, {"failures", "next_cursor"}),
      list_failures));
  return tools;
}

}  // namespace promptetheus::cli::mcp
