// `promptetheus redact [--allow-key K]... [--sensitive-key K]... [--pattern NAME=REGEX]... [--hash]
// [FILE|-]`: the SDK's default redactor (contract §7.7, policy::redact) applied to recorded
// events. Reads JSONL (a spool file; an export document is recognised too) and writes each
// redacted event as one canonical JSON line (the spool form) to stdout. A line that is not a
// JSON object is reported on stderr with its number and skipped; so is an event that could not
// be scrubbed, whose fail-closed skeleton is written instead. Exit code 1 when anything was
// skipped or unreadable, 2 for a usage error or an invalid pattern.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "cli_common.hpp"
#include "core/json_writer.hpp"
#include "policy/redact.hpp"
#include "promptetheus/policy.hpp"

namespace promptetheus::cli {

namespace {

struct RedactCommand {
  std::vector<std::string> allow_keys;
  std::vector<std::string> sensitive_keys;
  std::vector<std::string> patterns;
  bool hash = false;
  std::string file = "-";
};

constexpr std::size_t kFlushBytes = 64 * 1024;

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n\f\v") == std::string_view::npos;
}

/// Reads `in` line by line (any length, '\n' removed, a trailing '\r' too).
class LineReader {
 public:
  explicit LineReader(std::FILE* in) : in_(in) {}
  ~LineReader() { std::free(buffer_); }
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  std::optional<std::string_view> next() {
    const ssize_t n = ::getline(&buffer_, &capacity_, in_);
    if (n < 0) return std::nullopt;
    std::string_view line(buffer_, static_cast<std::size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }
  bool failed() const { return std::ferror(in_) != 0; }

 private:
  std::FILE* in_;
  char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
};

class Redactor {
 public:
  explicit Redactor(policy::RedactOptions options) : options_(std::move(options)) {}

  /// Redacts one event (`where` names it in messages) and queues its line.
  void event(const nlohmann::json& event, const std::string& where) {
    if (!event.is_object()) {
      print_error("promptetheus redact: " + where + ": not a JSON object, skipped");
      ok_ = false;
      return;
    }
    std::string error;
    std::optional<nlohmann::json> redacted;
    try {
      redacted = detail::try_redact(event, options_, error);
    } catch (const std::bad_alloc&) {
      error = "out of memory";
    }
    if (!redacted) {
      print_error("promptetheus redact: " + where + ": redaction failed (" + error +
                  "); wrote the fail-closed skeleton");
      ok_ = false;
      redacted = policy::redaction_failed_skeleton(event);
    }
    detail::write_json(out_, *redacted);
    out_.push_back('\n');
    if (out_.size() >= kFlushBytes) flush();
  }

  void malformed(const std::string& where) {
    print_error("promptetheus redact: " + where + ": not valid JSON, skipped");
    ok_ = false;
  }

  void flush() {
    write_out(out_);
    out_.clear();
  }
  bool ok() const { return ok_; }
  void fail() { ok_ = false; }

 private:
  policy::RedactOptions options_;
  std::string out_;
  bool ok_ = true;
};

/// An export document ({"events": [...]}) or a bare list of events: its events, else null.
const nlohmann::json* document_events(const nlohmann::json& doc) {
  if (doc.is_array()) return &doc;
  if (doc.is_object()) {
    const auto it = doc.find("events");
    if (it != doc.end() && it->is_array()) return &*it;
  }
  return nullptr;
}

/// Returns false when the input could not be read.
bool run(std::FILE* in, Redactor& redactor) {
  LineReader reader(in);
  std::size_t number = 0;
  bool first = true;
  while (auto line = reader.next()) {
    ++number;
    if (is_blank(*line)) continue;
    auto event = nlohmann::json::parse(line->begin(), line->end(), nullptr, false);
    if (first && event.is_discarded()) {
      // Not JSONL from the first line on: maybe one document over several lines (an export).
      std::string text(*line);
      text.push_back('\n');
      const std::size_t first_number = number;
      std::vector<std::string> rest;
      while (auto more = reader.next()) {
        rest.emplace_back(*more);
        text.append(*more);
        text.push_back('\n');
      }
      if (reader.failed()) return false;
      const auto doc = nlohmann::json::parse(text, nullptr, false);
      if (const nlohmann::json* events = doc.is_discarded() ? nullptr : document_events(doc)) {
        for (std::size_t i = 0; i < events->size(); ++i) {
          redactor.event((*events)[i], "event " + std::to_string(i + 1));
        }
        return true;
      }
      // Not a document either: the lines as JSONL.
      redactor.malformed("line " + std::to_string(first_number));
      for (const auto& next : rest) {
        ++number;
        if (is_blank(next)) continue;
        const auto parsed = nlohmann::json::parse(next, nullptr, false);
        if (parsed.is_discarded()) {
          redactor.malformed("line " + std::to_string(number));
        } else {
          redactor.event(parsed, "line " + std::to_string(number));
        }
      }
      return true;
    }
    first = false;
    if (event.is_discarded()) {
      redactor.malformed("line " + std::to_string(number));
    } else {
      redactor.event(event, "line " + std::to_string(number));
    }
  }
  return !reader.failed();
}

}  // namespace

void add_redact_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<RedactCommand>();
  auto* cmd = app.add_subcommand("redact", "Redact secrets from recorded events (JSONL in, canonical JSONL out)");
  cmd->add_option("--allow-key", opts->allow_keys, "Copy this key untouched wherever it appears")
      ->allow_extra_args(false);  // one value per flag: FILE may follow
  cmd->add_option("--sensitive-key", opts->sensitive_keys,
                  "Also treat keys containing this (case-insensitive) as sensitive")
      ->allow_extra_args(false);
  cmd->add_option("--pattern", opts->patterns, "An extra pattern NAME=REGEX (Python re syntax)")
      ->allow_extra_args(false);
  cmd->add_flag("--hash", opts->hash, "Replace with sha256:<12 hex> of the value instead of [REDACTED]");
  cmd->add_option("file", opts->file, "A spool file or export, or - for stdin")->capture_default_str();
  cmd->callback([opts, &rc] {
    policy::RedactOptions options;
    options.allow_keys = opts->allow_keys;
    options.extra_sensitive_keys = opts->sensitive_keys;
    options.hash_values = opts->hash;
    for (const auto& spec : opts->patterns) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos) {
        print_error("promptetheus redact: error: --pattern takes NAME=REGEX, got '" + spec + "'");
        rc.value = kUsageErrorExit;
        return;
      }
      std::string name = spec.substr(0, eq);
      std::string regex = spec.substr(eq + 1);
      const std::string error = detail::redact_pattern_error(regex);
      if (!error.empty()) {
        print_error("promptetheus redact: error: invalid --pattern " + name + ": " + error);
        rc.value = kUsageErrorExit;
        return;
      }
      options.extra_patterns.emplace_back(std::move(name), std::move(regex));
    }

    std::FILE* in = stdin;
    if (opts->file != "-") {
      in = std::fopen(opts->file.c_str(), "rb");
      if (in == nullptr) {
        print_error("promptetheus redact: cannot read " + opts->file + ": " + std::strerror(errno));
        rc.value = 1;
        return;
      }
    }
    Redactor redactor(std::move(options));
    const bool read = run(in, redactor);
    if (!read) {
      print_error("promptetheus redact: error reading " + (opts->file == "-" ? std::string("stdin") : opts->file));
      redactor.fail();
    }
    if (in != stdin) std::fclose(in);
    redactor.flush();
    rc.value = redactor.ok() ? 0 : 1;
  });
}

}  // namespace promptetheus::cli
