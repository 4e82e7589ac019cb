// Options::from_env: defaults < ~/.promptetheus/config.toml < PROMPTETHEUS_* environment.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/log.hpp"
#include "promptetheus/options.hpp"

namespace promptetheus {
inline namespace v0 {
namespace {

// A TOML scalar as text: strings unquoted, numbers and booleans as written.
using Table = std::map<std::string, std::string>;

std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Parses the subset of TOML a config file needs: [tables], key = "basic" | 'literal' | number |
// boolean, and comments. Returns false on anything else (the file then counts as absent).
bool parse_toml(std::istream& in, std::map<std::string, Table>& tables, std::string& error) {
  std::string line, table;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string text = trim(line);
    if (text.empty() || text[0] == '#') continue;
    if (text[0] == '[') {
      std::size_t close = text.find(']');
      if (close == std::string::npos) {
        error = "line " + std::to_string(number) + ": unterminated table header";
        return false;
      }
      table = trim(text.substr(1, close - 1));
      tables[table];
      continue;
    }
    std::size_t eq = text.find('=');
    if (eq == std::string::npos) {
      error = "line " + std::to_string(number) + ": expected key = value";
      return false;
    }
    std::string key = trim(text.substr(0, eq));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'')) key = key.substr(1, key.size() - 2);
    std::string raw = trim(text.substr(eq + 1));
    std::string value;
    if (!raw.empty() && (raw[0] == '"' || raw[0] == '\'')) {
      char quote = raw[0];
      std::size_t i = 1;
      bool closed = false;
      for (; i < raw.size(); ++i) {
        char c = raw[i];
        if (c == quote) {
          closed = true;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < raw.size()) {
          char n = raw[++i];
          switch (n) {
            case 'n': value += '\n'; break;
            case 't': value += '\t'; break;
            case 'r': value += '\r'; break;
            case '\\': value += '\\'; break;
            case '"': value += '"'; break;
            default: value += n;
          }
          continue;
        }
        value += c;
      }
      std::string rest = closed ? trim(raw.substr(i + 1)) : "x";
      if (!closed || (!rest.empty() && rest[0] != '#')) {
        error = "line " + std::to_string(number) + ": malformed string";
        return false;
      }
    } else {
      std::size_t hash = raw.find('#');
      value = trim(hash == std::string::npos ? raw : raw.substr(0, hash));
      if (value.empty()) {
        error = "line " + std::to_string(number) + ": missing value";
        return false;
      }
    }
    tables[table][key] = value;
  }
  return true;
}

struct Layer {
  std::string source;  // for warnings
  Table values;
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

void apply(Options& options, const Layer& layer) {
  auto get = [&](const char* key, std::string& out) {
    auto it = layer.values.find(key);
    if (it == layer.values.end() || it->second.empty()) return false;
    out = it->second;
    return true;
  };
  std::string v;
  if (get("api_url", v)) options.api_url = v;
  if (get("api_key", v)) options.api_key = v;
  if (get("project_id", v)) options.project_id = v;
  if (get("environment", v)) options.environment = v;
  if (get("redact", v)) options.redact = v;
  if (get("spool_dir", v)) options.spool_dir = v;
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
  if (get("debug", v) && v != "0" && v != "false") options.log_level = LogLevel::debug;
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
  return layer;
}

Layer environment_layer() {
  static const std::pair<const char*, const char*> names[] = {
      {"PROMPTETHEUS_API_URL", "api_url"},         {"PROMPTETHEUS_API_KEY", "api_key"},
      {"PROMPTETHEUS_PROJECT", "project_id"},      {"PROMPTETHEUS_ENVIRONMENT", "environment"},
      {"PROMPTETHEUS_SAMPLE_RATE", "sample_rate"}, {"PROMPTETHEUS_REDACT", "redact"},
      {"PROMPTETHEUS_HTTP_TIMEOUT", "http_timeout"}, {"PROMPTETHEUS_TRANSPORT", "transport"},
      {"PROMPTETHEUS_SPOOL_DIR", "spool_dir"},     {"PROMPTETHEUS_DEBUG", "debug"},
  };
  Layer layer;
  layer.source = "the environment";
  for (const auto& [env, key] : names) {
    const char* value = std::getenv(env);
    if (value && *value) layer.values[key] = value;  // an empty variable is ignored
  }
  return layer;
}

}  // namespace

bool parse_transport_mode(std::string_view text, TransportMode& out) noexcept {
  if (text == "auto") out = TransportMode::automatic;
  else if (text == "http") out = TransportMode::http;
  else if (text == "spool") out = TransportMode::spool;
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
