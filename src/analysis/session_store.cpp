#include "analysis/session_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "analysis/run_beside.hpp"
#include "analysis/unicode.hpp"
#include "transport/spool.hpp"

namespace promptetheus::analysis {

namespace {

bool payload_name_is(const Event& e, std::string_view name) {
  if (!e.type.string_equals("state_change") || !e.payload.is_object()) return false;
  return e.payload.get("name").string_equals(name);
}

/// pathlib's Path.suffix of the last path component ("" for ".json" or "a").
std::string_view path_suffix(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == name.size()) return {};
  return name.substr(dot);
}

}  // namespace

bool Event::is_span_start() const { return payload_name_is(*this, "span_start"); }
bool Event::is_span_end() const { return payload_name_is(*this, "span_end"); }

namespace {

void assign_envelope_member(Event& e, std::string_view key, const JsonView& v) {
  if (key.empty()) return;
  switch (key[0]) {
    case 's':
      if (key == "seq") e.seq = v;
      else if (key == "span_id") e.span_id = v;
      break;
    case 't':
      if (key == "type") e.type = v;
      else if (key == "timestamp") e.timestamp = v;
      break;
    case 'p':
      if (key == "payload") e.payload = v;
      else if (key == "parent_id") e.parent_id = v;
      break;
    default:
      break;
  }
}

void envelope_hook(void* context, const JsonView& k, const JsonView& v) {
  auto& e = *static_cast<Event*>(context);
  std::string_view key;
  if (k.plain_string(key)) {
    assign_envelope_member(e, key, v);
  } else {
    assign_envelope_member(e, k.as_string(), v);
  }
}

}  // namespace

Event make_event(const JsonView& value) {
  Event e;
  e.value = value;
  if (value.is_object()) {
    value.for_each_member([&](const JsonView& k, const JsonView& v) { envelope_hook(&e, k, v); });
  }
  return e;
}

bool parse_event_line(std::string_view line, Event& out) {
  out = Event();
  out.value = parse_json(line, &envelope_hook, &out);
  if (!out.value.present()) {
    out = Event();
    return false;
  }
  if (!out.value.is_object()) {
    const JsonView v = out.value;
    out = Event();
    out.value = v;
  }
  return true;
}

bool is_blank_line(std::string_view line) noexcept {
  std::size_t i = 0;
  while (i < line.size()) {
    const auto byte = static_cast<unsigned char>(line[i]);
    if (byte < 0x80) {
      if (!py_isspace(byte)) return false;
      ++i;
      continue;
    }
    if (!py_isspace(next_code_point(line, i))) return false;
  }
  return true;
}

Session parse_jsonl(std::string text, std::string source) {
  return parse_jsonl(std::make_shared<const TextBuffer>(std::move(text)), std::move(source));
}

namespace {

// The events of the lines in `t`, added to `events`, and the lines counted in `stats`.
void parse_lines(std::string_view t, std::vector<Event>& events, ReadStats& stats) {
  // Spool lines are ~200–300 bytes; reserving avoids regrowth on large files.
  events.reserve(events.size() + t.size() / 256 + 4);
  std::size_t pos = 0;
  while (pos < t.size()) {
    const void* nl = std::memchr(t.data() + pos, '\n', t.size() - pos);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - t.data()) : t.size();
    const std::string_view line(t.data() + pos, end - pos);
    pos = end + 1;
    ++stats.lines;
    Event e;
    if (parse_event_line(line, e)) {
      events.push_back(e);
    } else if (is_blank_line(line)) {
      ++stats.blank;
    } else {
      ++stats.malformed;
    }
  }
}

// Below this, a second thread costs more than it saves.
constexpr std::size_t kSplitParseBytes = std::size_t{4} << 20;

}  // namespace

Session parse_jsonl(std::shared_ptr<const TextBuffer> text, std::string source) {
  Session s;
  s.source = std::move(source);
  s.text = std::move(text);
  const std::string_view t = s.text->view();
  // A large file is parsed in two halves at once, split after a newline; the events of the
  // second half are appended to those of the first, so the order is the file's.
  const void* middle = t.size() >= kSplitParseBytes ? std::memchr(t.data() + t.size() / 2, '\n', t.size() - t.size() / 2) : nullptr;
  if (middle == nullptr) {
    parse_lines(t, s.events, s.stats);
    return s;
  }
  const std::size_t split = static_cast<std::size_t>(static_cast<const char*>(middle) - t.data()) + 1;
  s.events.reserve(t.size() / 256 + 4);  // the whole file's, so that appending does not regrow
  std::vector<Event> second_events;
  ReadStats second_stats;
  run_beside([&] { parse_lines(t.substr(split), second_events, second_stats); },
             [&] {
               parse_lines(t.substr(0, split), s.events, s.stats);
               return true;
             });
  s.events.insert(s.events.end(), second_events.begin(), second_events.end());
  s.stats.lines += second_stats.lines;
  s.stats.blank += second_stats.blank;
  s.stats.malformed += second_stats.malformed;
  return s;
}

std::shared_ptr<const TextBuffer> read_whole_file(const std::string& path, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = std::strerror(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? "Is a directory" : std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  // Start from the size fstat reports and grow if the file is still being appended to.
  std::size_t capacity = S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) + 1 : 1 << 16;
  auto bytes = std::unique_ptr<char[]>(new char[capacity]);
  std::size_t size = 0;
  for (;;) {
    if (size == capacity) {
      const std::size_t bigger = capacity * 2;
      auto grown = std::unique_ptr<char[]>(new char[bigger]);
      std::memcpy(grown.get(), bytes.get(), size);
      bytes = std::move(grown);
      capacity = bigger;
    }
    const ssize_t n = ::read(fd, bytes.get() + size, capacity - size);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      ::close(fd);
      return nullptr;
    }
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return std::make_shared<const TextBuffer>(std::move(bytes), size);
}

Session read_jsonl_file(const std::string& path) {
  std::string error;
  auto text = read_whole_file(path, error);
  if (!text) {
    Session s;
    s.source = path;
    s.text = std::make_shared<const TextBuffer>(std::string());
    s.stats.unreadable = true;
    s.stats.error = error;
    return s;
  }
  return parse_jsonl(std::move(text), path);
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_regular_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

DirState list_jsonl(const std::string& dir, std::vector<SpoolFile>& files, std::string* error) {
  files.clear();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return DirState::missing;
  if (!S_ISDIR(st.st_mode)) return DirState::not_a_directory;
  std::vector<detail::JsonlFile> entries;
  if (const int err = detail::list_jsonl_files(dir, entries)) {
    if (error) *error = std::strerror(err);
    return DirState::unreadable;
  }
  for (auto& entry : entries) {
    if (entry.name.size() <= 6) continue;  // a file named just ".jsonl" has no stem
    SpoolFile f;
    f.stem = entry.name.substr(0, entry.name.size() - 6);
    f.path = join_path(dir, entry.name);
    f.name = std::move(entry.name);
    f.bytes = entry.size;
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(),
            [](const SpoolFile& a, const SpoolFile& b) { return a.name < b.name; });
  return DirState::ok;
}

DirState list_spool_pending(const std::string& dir, std::vector<SpoolFile>& files, std::string* error) {
  const DirState state = list_jsonl(dir, files, error);
  if (state != DirState::ok) return state;
  std::vector<SpoolFile> outbox;
  list_jsonl(join_path(dir, detail::kOutboxDirName), outbox);
  for (auto& f : outbox) {
    f.in_outbox = true;
    files.push_back(std::move(f));
  }
  return state;
}

LineCounts count_lines(const std::string& path) {
  LineCounts c;
  std::string error;
  const auto buffer = read_whole_file(path, error);
  if (!buffer) {
    c.unreadable = true;
    return c;
  }
  const std::string_view text = buffer->view();
  std::size_t pos = 0;
  while (pos < text.size()) {
    const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
    const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    const std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (is_blank_line(line)) continue;
    ++c.non_blank;
    if (parse_json(line).present()) ++c.parsed;
  }
  return c;
}

std::string display_path(const std::string& p) {
  if (p.empty()) return ".";
  std::string out;
  std::size_t i = 0;
  if (p[0] == '/') {
    // POSIX keeps exactly two leading slashes; one or three-plus collapse to one.
    std::size_t n = 0;
    while (n < p.size() && p[n] == '/') ++n;
    out = n == 2 ? "//" : "/";
    i = n;
  }
  bool first = true;
  while (i < p.size()) {
    std::size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    const std::string part = p.substr(i, j - i);
    i = j + 1;
    if (part.empty() || part == ".") continue;
    if (!first) out.push_back('/');
    out += part;
    first = false;
  }
  if (out.empty()) return ".";
  return out;
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (!name.empty() && name[0] == '/') return name;
  if (dir.empty() || dir == ".") return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

namespace {

void account_line(std::string_view line, EventCallback on_event, void* context, ReadStats& stats) {
  ++stats.lines;
  Event e;
  if (parse_event_line(line, e)) {
    on_event(context, e);
  } else if (is_blank_line(line)) {
    ++stats.blank;
  } else {
    ++stats.malformed;
  }
}

/// The spool file in `dir` a session id names, or "" when there is none.
std::string session_file_in(const std::string& id, const std::string& dir) {
  const std::string direct = join_path(dir, id + ".jsonl");
  if (path_exists(direct)) return direct;
  std::vector<SpoolFile> files;
  if (list_jsonl(dir, files) == DirState::ok) {
    for (const auto& f : files) {
      if (f.stem == id) return f.path;
    }
  }
  // An id too long for a file name is spooled under a shortened name (transport/spool.hpp).
  // Only such ids are looked up by their spool name: others are not made safe (§6).
  if (detail::session_name_is_shortened(id)) {
    const std::string shortened = join_path(dir, detail::safe_session_name(id) + ".jsonl");
    if (is_regular_file(shortened)) return shortened;
  }
  return {};
}

/// The spool file a session id names: a recorded run, or else one waiting in the outbox.
std::string session_file(const std::string& id, const std::string& dir) {
  std::string path = session_file_in(id, dir);
  if (path.empty() && is_directory(dir)) path = session_file_in(id, join_path(dir, detail::kOutboxDirName));
  return path;
}

}  // namespace

std::optional<Session> load_session_id(const std::string& id, const std::string& dir) {
  const std::string path = session_file(id, dir);
  if (path.empty()) return std::nullopt;
  return read_jsonl_file(path);
}

void stream_jsonl_file(const std::string& path, EventCallback on_event, void* context, ReadStats& stats) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
    stats.unreadable = true;
    stats.error = fd >= 0 && S_ISDIR(st.st_mode) ? "Is a directory" : std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return;
  }
  // A reused 1 MiB window: complete lines are parsed, the tail moves to the front.
  std::size_t capacity = 1 << 20;
  auto buffer = std::unique_ptr<char[]>(new char[capacity]);
  std::size_t filled = 0;
  for (;;) {
    if (filled == capacity) {  // one line longer than the window
      auto bigger = std::unique_ptr<char[]>(new char[capacity * 2]);
      std::memcpy(bigger.get(), buffer.get(), filled);
      buffer = std::move(bigger);
      capacity *= 2;
    }
    const ssize_t n = ::read(fd, buffer.get() + filled, capacity - filled);
    if (n < 0) {
      if (errno == EINTR) continue;
      stats.unreadable = true;
      stats.error = std::strerror(errno);
      break;
    }
    if (n == 0) {
      if (filled > 0) account_line(std::string_view(buffer.get(), filled), on_event, context, stats);
      break;
    }
    filled += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    for (;;) {
      const void* nl = std::memchr(buffer.get() + pos, '\n', filled - pos);
      if (!nl) break;
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buffer.get());
      account_line(std::string_view(buffer.get() + pos, end - pos), on_event, context, stats);
      pos = end + 1;
    }
    std::memmove(buffer.get(), buffer.get() + pos, filled - pos);
    filled -= pos;
  }
  ::close(fd);
}

bool stream_target(const std::string& target, const std::string& dir, EventCallback on_event, void* context,
                   ReadStats& stats, std::string& source) {
  if (!target.empty() && is_regular_file(target) && path_suffix(target) == ".json") {
    auto session = load_target(target, dir);
    if (!session) return false;
    source = session->source;
    stats = session->stats;
    for (const Event& e : session->events) on_event(context, e);
    return true;
  }
  source = !target.empty() && is_regular_file(target) ? target : session_file(target, dir);
  if (source.empty()) return false;
  stream_jsonl_file(source, on_event, context, stats);
  return true;
}

std::optional<Session> load_target(const std::string& target, const std::string& dir) {
  if (!target.empty() && is_regular_file(target)) {
    if (path_suffix(target) != ".json") return read_jsonl_file(target);
    std::string error;
    auto text = read_whole_file(target, error);
    if (!text) return std::nullopt;
    const JsonView doc = parse_json(text->view());
    JsonView list = doc;
    if (doc.is_object()) list = doc.get("events");
    if (!list.is_array()) return std::nullopt;
    Session s;
    s.source = target;
    list.for_each_element([&](const JsonView& v) { s.events.push_back(make_event(v)); });
    s.stats.lines = s.events.size();
    s.text = std::move(text);
    return s;
  }
  return load_session_id(target, dir);
}

}  // namespace promptetheus::analysis
