// Options::from_env: defaults < ~/.promptetheus/config.toml < PROMPTETHEUS_* environment.
#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.hpp"
#include "core/log.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus {
inline namespace v0 {
namespace {

// A TOML value: a scalar as text (strings unquoted, numbers and booleans as written), or a
// one-line array of strings.
struct TomlValue {
  std::string scalar;
  std::vector<std::string> list;
  bool is_list = false;
};
// A table's keys in the order the file gives them (the order of redaction patterns matters).
using Table = std::vector<std::pair<std::string, TomlValue>>;

const TomlValue* find(const Table& table, std::string_view key) {
  const TomlValue* found = nullptr;
  for (const auto& [k, v] : table) {
    if (k == key) found = &v;  // the last assignment wins
  }
  return found;
}

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Reads a "basic" or 'literal' string starting at raw[i] (the quote); returns the index after
// the closing quote, or npos when it is not closed.
std::size_t read_toml_string(const std::string& raw, std::size_t i, std::string& value) {
  const char quote = raw[i];
  for (++i; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == quote) return i + 1;
    if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
      char n = raw[++i];
      switch (n) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case '\\': value += '\\'; break;
        case '"': value += '"'; break;
        default: value += '\\'; value += n;  // kept for regular expressions (\b, \d)
      }
      continue;
    }
    value += c;
  }
  return std::string::npos;
}

bool only_comment_after(const std::string& raw, std::size_t i) {
  std::string rest = trim(raw.substr(i));
  return rest.empty() || rest[0] == '#';
}

// Parses the subset of TOML a config file needs: [tables], key = "basic" | 'literal' | number |
// boolean | ["one-line", 'array', "of strings"], and comments. Returns false on anything else
// (the file then counts as absent).
bool parse_toml(std::istream& in, std::map<std::string, Table>& tables, std::string& error) {
  std::string line, table;
  int number = 0;
  auto fail = [&](const char* what) {
    error = "line " + std::to_string(number) + ": " + what;
    return false;
  };
  while (std::getline(in, line)) {
    ++number;
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    if (text[0] == '[') {
      std::size_t close = text.find(']');
      if (close == std::string::npos) return fail("unterminated table header");
      table = trim(text.substr(1, close - 1));
      tables[table];
      continue;
    }
    std::size_t eq = text.find('=');
    if (eq == std::string::npos) return fail("expected key = value");
    std::string key = trim(text.substr(0, eq));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) key = key.substr(1, key.size() - 2);
    std::string raw = trim(text.substr(eq + 1));
    TomlValue value;
    if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
      std::size_t end = read_toml_string(raw, 0, value.scalar);
      if (end == std::string::npos || !only_comment_after(raw, end)) return fail("malformed string");
    } else if (!raw.empty() && raw[0] == '[') {
      value.is_list = true;
      std::size_t i = raw.find_first_not_of(" \t", 1);
      while (i != std::string::npos && raw[i] != ']') {
        if (raw[i] != '"' && raw[i] != '\'') return fail("an array holds strings only");
        std::string item;
        i = read_toml_string(raw, i, item);
        if (i == std::string::npos) return fail("malformed string");
        value.list.push_back(std::move(item));
        i = raw.find_first_not_of(" \t", i);
        if (i != std::string::npos && raw[i] == ',') i = raw.find_first_not_of(" \t", i + 1);
      }
      if (i == std::string::npos || !only_comment_after(raw, i + 1)) return fail("malformed array (one line)");
    } else {
      std::size_t hash = raw.find('#');
      value.scalar = trim(hash == std::string::npos ? raw : raw.substr(0, hash));
      if (value.scalar.empty()) return fail("missing value");
    }
    tables[table].emplace_back(std::move(key), std::move(value));
  }
  return true;
}

struct Layer {
  std::string source;  // for warnings
  Table values;
  Table redact;        // [promptetheus.redact] (the config file only)
  Table redact_patterns;  // [promptetheus.redact.patterns]: name = "regex", applied in this order
};

void warn(Options& options, std::string message) {
  detail::log_warn(message);
  options.warnings.push_back(std::move(message));
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || end == text.c_str() || *end != '\0' || std::isnan(v)) return false;
  out = v;
  return true;
}

// "tool_call=0.5,metric=0.1": a rate per event type, clamped to [0,1]. Entries that cannot be
// read warn and are skipped; the others apply.
void apply_event_sample_rates(Options& options, const std::string& text, const std::string& source) {
  std::map<std::string, double> rates;
  std::stringstream list(text);
  std::string entry;
  while (std::getline(list, entry, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const std::size_t eq = entry.find('=');
    const std::string type = trim(entry.substr(0, std::min(eq, entry.size())));
    double rate = 1.0;
    if (eq == std::string::npos || type.empty() || !parse_double(trim(entry.substr(eq + 1)), rate)) {
      warn(options, "invalid event sample rate '" + entry + "' from " + source + " (expected type=rate); ignored");
      continue;
    }
    if (!detail::is_event_type(type)) {
      warn(options, "unknown event type '" + type + "' in event sample rates from " + source + "; ignored");
      continue;
    }
    rates[type] = std::min(1.0, std::max(0.0, rate));
  }
  options.event_sample_rates = std::move(rates);
}

// "gpt-4o=0.0025:0.01,my-model=0.001:0.002": USD per 1,000 input and output tokens by model,
// replacing the default price table. Entries that cannot be read warn and are skipped.
void apply_prices(Options& options, const std::string& text, const std::string& source) {
  std::map<std::string, policy::Price> prices;
  std::stringstream list(text);
  std::string entry;
  while (std::getline(list, entry, ',')) {
    entry = trim(entry);
    if (entry.empty()) continue;
    const std::size_t eq = entry.rfind('=');
    const std::size_t colon = entry.rfind(':');
    const std::string model = trim(entry.substr(0, std::min(eq, entry.size())));
    policy::Price price;
    if (eq == std::string::npos || colon == std::string::npos || colon < eq || model.empty() ||
        !parse_double(trim(entry.substr(eq + 1, colon - eq - 1)), price.input_per_1k) ||
        !parse_double(trim(entry.substr(colon + 1)), price.output_per_1k) || price.input_per_1k < 0 ||
        price.output_per_1k < 0 || std::isinf(price.input_per_1k) || std::isinf(price.output_per_1k)) {
      warn(options, "invalid price '" + entry + "' from " + source +
                        " (expected model=input_per_1k:output_per_1k in USD); ignored");
      continue;
    }
    // Models are matched lowercased (policy::resolve_price), so the table's keys are too.
    std::string key = model;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    prices[key] = price;
  }
  options.prices = std::move(prices);
}

void apply_redact_table(Options& options, const Layer& layer) {
  policy::RedactOptions& redact = options.redact_options;
  for (const auto& [key, value] : layer.redact) {
    if (key == "allow_keys" && value.is_list) {
      redact.allow_keys = value.list;
    } else if (key == "extra_sensitive_keys" && value.is_list) {
      redact.extra_sensitive_keys = value.list;
    } else if (key == "hash_values" && !value.is_list && (value.scalar == "true" || value.scalar == "false")) {
      redact.hash_values = value.scalar == "true";
    } else if (key == "fail_open" && !value.is_list && (value.scalar == "true" || value.scalar == "false")) {
      options.redact_fail_open = value.scalar == "true";
    } else {
      warn(options, "ignoring '" + key + "' in [promptetheus.redact] of " + layer.source +
                        " (expected allow_keys = [..], extra_sensitive_keys = [..], hash_values = true|false, "
                        "fail_open = true|false)");
    }
  }
  if (!layer.redact_patterns.empty()) redact.extra_patterns.clear();
  for (const auto& [name, value] : layer.redact_patterns) {
    if (value.is_list || value.scalar.empty()) {
      warn(options, "ignoring pattern '" + name + "' in [promptetheus.redact.patterns] of " + layer.source +
                        ": expected name = \"regex\"");
      continue;
    }
    redact.extra_patterns.emplace_back(name, value.scalar);
  }
}

void apply(Options& options, const Layer& layer) {
  auto get = [&](const char* key, std::string& out) {
    const TomlValue* value = find(layer.values, key);
    if (value == nullptr || value->is_list || value->scalar.empty()) return false;
    out = value->scalar;
    return true;
  };
  std::string v;
  if (get("api_url", v)) options.api_url = v;
  if (get("api_key", v)) options.api_key = v;
  if (get("project_id", v)) options.project_id = v;
  if (get("environment", v)) options.environment = v;
  if (get("redact", v)) options.redact = v;
  if (get("spool_dir", v)) options.spool_dir = v;
  if (get("otlp_endpoint", v)) options.otlp_endpoint = v;
  if (get("otlp_headers", v)) options.otlp_headers = v;
  if (get("otlp_resource_attributes", v)) options.otlp_resource_attributes = v;
  if (get("sample_rate", v)) {
    double rate = 1.0;
    if (!parse_double(v, rate)) {
      warn(options, "invalid sample_rate '" + v + "' from " + layer.source + "; using 1.0");
      rate = 1.0;
    }
    options.sample_rate = std::min(1.0, std::max(0.0, rate));
  }
  if (get("http_timeout", v)) {
    double seconds = 0;
    if (!parse_double(v, seconds) || !(seconds > 0) || std::isinf(seconds)) {
      warn(options, "invalid http_timeout '" + v + "' from " + layer.source + "; using 30 seconds");
      seconds = 30.0;
    }
    options.http_timeout = std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
  }
  if (get("transport", v)) {
    TransportMode mode;
    if (parse_transport_mode(v, mode)) {
      options.transport = mode;
    } else {
      warn(options, "unknown transport '" + v + "' from " + layer.source + "; using auto");
      options.transport = TransportMode::automatic;
    }
  }
  if (get("event_sample_rates", v)) apply_event_sample_rates(options, v, layer.source);
  if (get("prices", v)) apply_prices(options, v, layer.source);
  if (get("tail_sample", v)) {
    if (v == "1" || v == "true") {
      options.tail_sample = true;
    } else if (v == "0" || v == "false") {
      options.tail_sample = false;
    } else {
      warn(options, "invalid tail_sample '" + v + "' from " + layer.source + " (expected 1 or 0); tail sampling stays off");
    }
  }
  if (get("debug", v) && v != "0" && v != "false") options.log_level = LogLevel::debug;
  apply_redact_table(options, layer);
}

Layer config_file_layer(Options& options) {
  Layer layer;
  const char* home = std::getenv("HOME");
  if (!home || !*home) return layer;
  std::string path = std::string(home) + "/.promptetheus/config.toml";
  layer.source = path;
  std::ifstream in(path);
  if (!in) return layer;  // no file: nothing to report
  std::map<std::string, Table> tables;
  std::string error;
  if (!parse_toml(in, tables, error)) {
    warn(options, "ignoring malformed config file " + path + ": " + error);
    return layer;
  }
  // Keys live in a [promptetheus] table when there is one, else at the top level.
  auto table = tables.find("promptetheus");
  layer.values = table != tables.end() ? table->second : tables[""];
  // A misspelt key would otherwise be ignored without a word (`spooldir = ...`).
  static const std::set<std::string> kKnownKeys = {
      "api_url",   "api_key",      "project_id",         "environment", "redact", "spool_dir",
      "sample_rate", "http_timeout", "transport",        "event_sample_rates", "tail_sample", "debug",
      "prices", "otlp_endpoint", "otlp_headers", "otlp_resource_attributes"};
  for (const auto& [key, value] : layer.values) {
    if (kKnownKeys.count(key) == 0) warn(options, "unknown key '" + key + "' in " + path + "; ignored");
  }
  for (const auto& [name, keys] : tables) {
    if (name.empty()) {
      if (table != tables.end() && !keys.empty()) {
        warn(options, "keys outside [promptetheus] in " + path + " are ignored (the table holds the settings)");
      }
      continue;
    }
    const bool known = name == "promptetheus" || name == "promptetheus.redact" || name == "promptetheus.redact.patterns";
    if (!known) warn(options, "unknown table [" + name + "] in " + path + "; ignored");
  }
  layer.redact = tables["promptetheus.redact"];
  layer.redact_patterns = tables["promptetheus.redact.patterns"];
  return layer;
}

Layer environment_layer() {
  static const std::pair<const char*, const char*> names[] = {
      {"PROMPTETHEUS_API_URL", "api_url"},         {"PROMPTETHEUS_API_KEY", "api_key"},
      {"PROMPTETHEUS_PROJECT", "project_id"},      {"PROMPTETHEUS_ENVIRONMENT", "environment"},
      {"PROMPTETHEUS_SAMPLE_RATE", "sample_rate"}, {"PROMPTETHEUS_REDACT", "redact"},
      {"PROMPTETHEUS_HTTP_TIMEOUT", "http_timeout"}, {"PROMPTETHEUS_TRANSPORT", "transport"},
      {"PROMPTETHEUS_SPOOL_DIR", "spool_dir"},     {"PROMPTETHEUS_DEBUG", "debug"},
      {"PROMPTETHEUS_EVENT_SAMPLE_RATES", "event_sample_rates"}, {"PROMPTETHEUS_TAIL_SAMPLE", "tail_sample"},
      {"PROMPTETHEUS_PRICES", "prices"},
      {"PROMPTETHEUS_OTLP_ENDPOINT", "otlp_endpoint"}, {"PROMPTETHEUS_OTLP_HEADERS", "otlp_headers"},
      {"PROMPTETHEUS_OTLP_RESOURCE_ATTRIBUTES", "otlp_resource_attributes"},
  };
  Layer layer;
  layer.source = "the environment";
  for (const auto& [env, key] : names) {
    const char* value = std::getenv(env);
    if (value && *value) layer.values.emplace_back(key, TomlValue{value, {}, false});  // an empty one is ignored
  }
  return layer;
}

}  // namespace

bool parse_transport_mode(std::string_view text, TransportMode& out) noexcept {
  if (text == "auto") out = TransportMode::automatic;
  else if (text == "http") out = TransportMode::http;
  else if (text == "spool") out = TransportMode::spool;
  else if (text == "otlp") out = TransportMode::otlp;
  else if (text == "memory") out = TransportMode::memory;
  else if (text == "off" || text == "none") out = TransportMode::off;
  else return false;
  return true;
}

const char* to_string(TransportMode mode) noexcept {
  switch (mode) {
    case TransportMode::automatic: return "auto";
    case TransportMode::http: return "http";
    case TransportMode::spool: return "spool";
    case TransportMode::otlp: return "otlp";
    case TransportMode::memory: return "memory";
    case TransportMode::off: return "off";
  }
  return "auto";
}

Options Options::from_env() noexcept {
  Options options;
  try {
    apply(options, config_file_layer(options));
    apply(options, environment_layer());
  } catch (...) {
    detail::log_warn("cannot read the configuration; using defaults");
  }
  return options;
}

}  // namespace v0
}  // namespace promptetheus
