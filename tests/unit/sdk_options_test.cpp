// Options::from_env: code > environment > ~/.promptetheus/config.toml > defaults (contract §3.1),
// with warnings and fallbacks for values that cannot be used.
#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/log_sink.hpp"

#include "promptetheus/client.hpp"
#include "promptetheus/options.hpp"
#include "promptetheus/session.hpp"
#include "unit/sdk_test_support.hpp"

using namespace promptetheus;
using sdk_test::TempDir;

namespace {

const char* const kVariables[] = {"HOME",
                                  "PROMPTETHEUS_API_URL",
                                  "PROMPTETHEUS_API_KEY",
                                  "PROMPTETHEUS_PROJECT",
                                  "PROMPTETHEUS_ENVIRONMENT",
                                  "PROMPTETHEUS_SAMPLE_RATE",
                                  "PROMPTETHEUS_REDACT",
                                  "PROMPTETHEUS_HTTP_TIMEOUT",
                                  "PROMPTETHEUS_TRANSPORT",
                                  "PROMPTETHEUS_SPOOL_DIR",
                                  "PROMPTETHEUS_DEBUG",
                                  "PROMPTETHEUS_EVENT_SAMPLE_RATES",
                                  "PROMPTETHEUS_PRICES"};

// Points HOME at a fresh directory and clears every PROMPTETHEUS_* variable; restores all on exit.
class IsolatedEnvironment {
 public:
  IsolatedEnvironment() {
    for (const char* name : kVariables) {
      const char* v = ::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    ::setenv("HOME", home_.str().c_str(), 1);
  }
  ~IsolatedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }
  void set(const char* name, const std::string& value) { ::setenv(name, value.c_str(), 1); }
  void write_config(const std::string& text) {
    sdk_test::fs::create_directories(home_.path / ".promptetheus");
    std::ofstream(home_.path / ".promptetheus" / "config.toml") << text;
  }

 private:
  TempDir home_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

bool has_warning_containing(const Options& o, const std::string& text) {
  return std::any_of(o.warnings.begin(), o.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("from_env without file or environment gives the defaults", "[sdk][options]") {
  IsolatedEnvironment env;
  Options o = Options::from_env();
  CHECK(o.api_url == "http://127.0.0.1:4318");
  CHECK(o.api_key.empty());
  CHECK(o.project_id.empty());
  CHECK(o.environment.empty());
  CHECK(o.sample_rate == 1.0);
  CHECK(o.redact.empty());
  CHECK(o.http_timeout == std::chrono::milliseconds(30000));
  CHECK(o.transport == TransportMode::automatic);
  CHECK(o.spool_dir == ".promptetheus/spool");
  CHECK(o.log_level == LogLevel::warn);
  CHECK(o.warnings.empty());
}

TEST_CASE("top-level keys of config.toml are read", "[sdk][options]") {
  IsolatedEnvironment env;
  env.write_config(
      "# Promptetheus settings\n"
      "api_url = \"http://file:1\"\n"
      "project_id = 'p_file'   # literal string\n"
      "environment = \"staging\"\n"
      "sample_rate = 0.25\n"
      "http_timeout = 12.5\n"
      "transport = \"spool\"\n"
      "spool_dir = \"/tmp/from-file\"\n"
      "redact = \"default\"\n");
  Options o = Options::from_env();
  CHECK(o.api_url == "http://file:1");
  CHECK(o.project_id == "p_file");
  CHECK(o.environment == "staging");
  CHECK(o.sample_rate == 0.25);
  CHECK(o.http_timeout == std::chrono::milliseconds(12500));
  CHECK(o.transport == TransportMode::spool);
  CHECK(o.spool_dir == "/tmp/from-file");
  CHECK(o.redact == "default");
  CHECK(o.warnings.empty());
}

TEST_CASE("a [promptetheus] table hides every top-level key", "[sdk][options]") {
  IsolatedEnvironment env;
  env.write_config(
      "api_url = \"http://top-level:1\"\n"
      "environment = \"top\"\n"
      "[other]\n"
      "project_id = \"from-other\"\n"
      "[promptetheus]\n"
      "project_id = \"p_table\"\n");
  Options o = Options::from_env();
  CHECK(o.project_id == "p_table");
  CHECK(o.api_url == "http://127.0.0.1:4318");
  CHECK(o.environment.empty());
  // Neither is silent: the ignored keys and the unknown table are named.
  CHECK(has_warning_containing(o, "keys outside [promptetheus]"));
  CHECK(has_warning_containing(o, "unknown table [other]"));
}

TEST_CASE("unknown config.toml keys warn, known ones still apply", "[sdk][options]") {
  IsolatedEnvironment env;
  env.write_config(
      "[promptetheus]\n"
      "spooldir = \"/tmp/misspelt\"\n"
      "api_url = \"http://toml:1\"\n");
  Options o = Options::from_env();
  CHECK(o.api_url == "http://toml:1");
  CHECK(o.spool_dir == ".promptetheus/spool");
  REQUIRE(o.warnings.size() == 1);
  CHECK(has_warning_containing(o, "unknown key 'spooldir'"));
}

TEST_CASE("the environment wins over the file, and empty variables are ignored", "[sdk][options]") {
  IsolatedEnvironment env;
  env.write_config(
      "[promptetheus]\n"
      "api_url = \"http://file:1\"\n"
      "project_id = \"p_file\"\n"
      "sample_rate = 0.5\n");
  env.set("PROMPTETHEUS_API_URL", "http://env:2");
  env.set("PROMPTETHEUS_PROJECT", "");
  env.set("PROMPTETHEUS_SAMPLE_RATE", "0.75");
  env.set("PROMPTETHEUS_API_KEY", "k_env");
  env.set("PROMPTETHEUS_ENVIRONMENT", "prod");
  env.set("PROMPTETHEUS_HTTP_TIMEOUT", "2.5");
  env.set("PROMPTETHEUS_TRANSPORT", "memory");
  env.set("PROMPTETHEUS_SPOOL_DIR", "/tmp/env-spool");
  env.set("PROMPTETHEUS_REDACT", "default");
  Options o = Options::from_env();
  CHECK(o.api_url == "http://env:2");
  CHECK(o.project_id == "p_file");
  CHECK(o.sample_rate == 0.75);
  CHECK(o.api_key == "k_env");
  CHECK(o.environment == "prod");
  CHECK(o.http_timeout == std::chrono::milliseconds(2500));
  CHECK(o.transport == TransportMode::memory);
  CHECK(o.spool_dir == "/tmp/env-spool");
  CHECK(o.redact == "default");
  CHECK(o.warnings.empty());
}

TEST_CASE("options set in code win: a Client uses its Options as given", "[sdk][options]") {
  IsolatedEnvironment env;
  TempDir dir;
  env.set("PROMPTETHEUS_TRANSPORT", "off");
  env.set("PROMPTETHEUS_SPOOL_DIR", (dir.path / "from-env").string());
  Options o = Options::from_env();
  REQUIRE(o.transport == TransportMode::off);
  o.transport = TransportMode::spool;
  o.spool_dir = (dir.path / "from-code").string();
  o.flush_at_exit = false;
  Client client(o);
  CHECK(client.options().transport == TransportMode::spool);
  CHECK(client.options().spool_dir == (dir.path / "from-code").string());
  CHECK(client.stats().transport == "spool");
  {
    SessionOptions so;
    so.client = &client;
    so.session_id = "code-wins";
    Session s(so);
    s.user_message("hi");
  }
  REQUIRE(client.flush(std::chrono::seconds(5)));
  CHECK(sdk_test::fs::exists(dir.path / "from-code" / "code-wins.jsonl"));
  CHECK_FALSE(sdk_test::fs::exists(dir.path / "from-env"));
}

TEST_CASE("the observed reference case: bad values warn and fall back to the defaults", "[sdk][options]") {
  IsolatedEnvironment env;
  env.write_config(
      "[promptetheus]\n"
      "api_url=\"http://toml:1\"\n"
      "sample_rate=\"0.3\"\n"
      "http_timeout=-1\n"
      "redact=\"default\"\n");
  env.set("PROMPTETHEUS_SAMPLE_RATE", "abc");
  Options o = Options::from_env();
  CHECK(o.api_url == "http://toml:1");
  CHECK(o.sample_rate == 1.0);  // the default, not the file's 0.3
  CHECK(o.redact == "default");
  CHECK(o.http_timeout == std::chrono::milliseconds(30000));
  CHECK(o.warnings.size() == 2);
  CHECK(has_warning_containing(o, "sample_rate"));
  CHECK(has_warning_containing(o, "http_timeout"));
}

TEST_CASE("sample_rate is clamped to [0, 1], unparsable values warn and use 1.0", "[sdk][options]") {
  IsolatedEnvironment env;
  env.set("PROMPTETHEUS_SAMPLE_RATE", "1.5");
  CHECK(Options::from_env().sample_rate == 1.0);
  env.set("PROMPTETHEUS_SAMPLE_RATE", "-0.2");
  CHECK(Options::from_env().sample_rate == 0.0);
  for (const char* bad : {"abc", "nan", "0.5x", " "}) {
    env.set("PROMPTETHEUS_SAMPLE_RATE", bad);
    Options o = Options::from_env();
    INFO("value: '" << bad << "'");
    CHECK(o.sample_rate == 1.0);
    CHECK(has_warning_containing(o, "sample_rate"));
  }
}

TEST_CASE("http_timeout must be a positive number of seconds", "[sdk][options]") {
  IsolatedEnvironment env;
  for (const char* bad : {"0", "-3", "abc", "inf"}) {
    env.set("PROMPTETHEUS_HTTP_TIMEOUT", bad);
    Options o = Options::from_env();
    INFO("value: " << bad);
    CHECK(o.http_timeout == std::chrono::milliseconds(30000));
    CHECK(has_warning_containing(o, "http_timeout"));
  }
  env.set("PROMPTETHEUS_HTTP_TIMEOUT", "0.25");
  Options o = Options::from_env();
  CHECK(o.http_timeout == std::chrono::milliseconds(250));
  CHECK(o.warnings.empty());
}

TEST_CASE("transport names parse, unknown ones warn and fall back to auto", "[sdk][options]") {
  IsolatedEnvironment env;
  const std::pair<const char*, TransportMode> known[] = {
      {"auto", TransportMode::automatic}, {"http", TransportMode::http},     {"spool", TransportMode::spool},
      {"memory", TransportMode::memory},  {"off", TransportMode::off},       {"none", TransportMode::off}};
  for (const auto& [name, mode] : known) {
    env.set("PROMPTETHEUS_TRANSPORT", name);
    Options o = Options::from_env();
    CHECK(o.transport == mode);
    CHECK(o.warnings.empty());
    TransportMode parsed = TransportMode::automatic;
    CHECK(parse_transport_mode(name, parsed));
    CHECK(parsed == mode);
  }
  env.write_config("transport = \"spool\"\n");
  env.set("PROMPTETHEUS_TRANSPORT", "carrier-pigeon");
  Options o = Options::from_env();
  CHECK(o.transport == TransportMode::automatic);
  CHECK(has_warning_containing(o, "carrier-pigeon"));
  TransportMode untouched = TransportMode::memory;
  CHECK_FALSE(parse_transport_mode("SPOOL", untouched));
  CHECK(untouched == TransportMode::memory);
  CHECK(std::string(to_string(TransportMode::automatic)) == "auto");
  CHECK(std::string(to_string(TransportMode::off)) == "off");
}

TEST_CASE("a malformed config file counts as no file, with a warning", "[sdk][options]") {
  for (const char* text : {"[promptetheus\napi_url = \"http://x:1\"\n", "api_url = \"unterminated\n",
                           "just some words\n", "api_url =\n"}) {
    IsolatedEnvironment env;
    env.write_config(text);
    env.set("PROMPTETHEUS_PROJECT", "p_env");
    Options o = Options::from_env();
    INFO("file: " << text);
    CHECK(o.api_url == "http://127.0.0.1:4318");
    CHECK(o.project_id == "p_env");  // the environment still applies
    CHECK(has_warning_containing(o, "config"));
  }
}

TEST_CASE("PROMPTETHEUS_DEBUG turns on debug diagnostics", "[sdk][options]") {
  IsolatedEnvironment env;
  env.set("PROMPTETHEUS_DEBUG", "1");
  CHECK(Options::from_env().log_level == LogLevel::debug);
  env.set("PROMPTETHEUS_DEBUG", "0");
  CHECK(Options::from_env().log_level == LogLevel::warn);
}

TEST_CASE("PROMPTETHEUS_EVENT_SAMPLE_RATES gives rates per type, and bad entries warn and are skipped",
          "[sdk][options][policy]") {
  IsolatedEnvironment env;
  env.set("PROMPTETHEUS_EVENT_SAMPLE_RATES", " tool_call=0.5, metric = 0.1,bogus=0.3,score=x,llm_call=7,,=1");
  const Options o = Options::from_env();
  const std::map<std::string, double> expected = {{"tool_call", 0.5}, {"metric", 0.1}, {"llm_call", 1.0}};
  CHECK(o.event_sample_rates == expected);
  CHECK(has_warning_containing(o, "unknown event type 'bogus'"));
  CHECK(has_warning_containing(o, "invalid event sample rate 'score=x'"));
  CHECK(has_warning_containing(o, "invalid event sample rate '=1'"));
}

TEST_CASE("PROMPTETHEUS_PRICES and config.toml prices replace the price table, bad entries warn",
          "[sdk][options][policy]") {
  IsolatedEnvironment env;
  CHECK_FALSE(Options::from_env().prices.has_value());  // the default table
  env.set("PROMPTETHEUS_PRICES", " My-Model = 0.5:1.5, gpt-4o=0.0025:0.01,bad=1,neg=-1:2,nan=x:1,,");
  const Options o = Options::from_env();
  REQUIRE(o.prices.has_value());
  REQUIRE(o.prices->size() == 2);
  CHECK(o.prices->at("my-model").input_per_1k == 0.5);  // keys lowercased, as models are matched
  CHECK(o.prices->at("my-model").output_per_1k == 1.5);
  CHECK(o.prices->at("gpt-4o").output_per_1k == 0.01);
  CHECK(has_warning_containing(o, "invalid price 'bad=1'"));
  CHECK(has_warning_containing(o, "invalid price 'neg=-1:2'"));
  CHECK(has_warning_containing(o, "invalid price 'nan=x:1'"));
  CHECK(promptetheus::policy::estimate_cost("My-Model-2024", 1000, 2000, &*o.prices) == Approx(3.5));

  IsolatedEnvironment file_only;
  file_only.write_config("[promptetheus]\nprices = \"local-llm=0:0\"\n");
  const Options from_file = Options::from_env();
  REQUIRE(from_file.prices.has_value());
  CHECK(from_file.prices->count("local-llm") == 1);
  CHECK(from_file.warnings.empty());
}

TEST_CASE("the promptetheus.redact table of config.toml sets the redactor options, and patterns keep the file's order",
          "[sdk][options][policy]") {
  IsolatedEnvironment env;
  env.write_config(
      "[promptetheus]\n"
      "redact = \"default\"\n"
      "[promptetheus.redact]\n"
      "allow_keys = [\"user_id\", 'Account']  # comment\n"
      "extra_sensitive_keys = [\"ssn\"]\n"
      "hash_values = true\n"
      "fail_open = true\n"
      "colour = \"blue\"\n"
      "[promptetheus.redact.patterns]\n"
      "zeta = 'TICKET-\\d+'\n"
      "alpha = \"\\bint-[a-z]+\"\n");
  const Options o = Options::from_env();
  CHECK(o.redact == "default");
  CHECK(o.redact_options.allow_keys == std::vector<std::string>{"user_id", "Account"});
  CHECK(o.redact_options.extra_sensitive_keys == std::vector<std::string>{"ssn"});
  CHECK(o.redact_options.hash_values);
  CHECK(o.redact_fail_open);
  const std::vector<std::pair<std::string, std::string>> patterns = {{"zeta", "TICKET-\\d+"},
                                                                     {"alpha", "\\bint-[a-z]+"}};
  CHECK(o.redact_options.extra_patterns == patterns);
  CHECK(has_warning_containing(o, "ignoring 'colour' in [promptetheus.redact]"));
}

TEST_CASE("a malformed array in config.toml makes the file count as absent", "[sdk][options][policy]") {
  IsolatedEnvironment env;
  env.write_config("[promptetheus.redact]\nallow_keys = [\"a\", 3]\n");
  const Options o = Options::from_env();
  CHECK(o.redact_options.allow_keys.empty());
  CHECK(has_warning_containing(o, "an array holds strings only"));
}

TEST_CASE("debug diagnostics say where events go, never the API key", "[sdk][options]") {
  IsolatedEnvironment env;
  std::vector<std::string> lines;
  std::mutex mutex;
  const auto capture = [&](LogLevel, std::string_view message) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.emplace_back(message);
  };
  sdk_test::TempDir dir;
  {
    Options o = sdk_test::spool_options(dir);
    o.log_level = LogLevel::debug;
    o.log_handler = capture;
    Client client(o);
  }
  {
    Options o = sdk_test::spool_options(dir);
    o.transport = TransportMode::http;
    o.api_key = "pt_secret_key_value";
    o.api_url = "http://127.0.0.1:9";
    o.log_level = LogLevel::debug;
    o.log_handler = capture;
    Client client(o);
    (void)client.shutdown(std::chrono::milliseconds(100));
  }
  promptetheus::detail::set_log_handler(nullptr, promptetheus::detail::Level::warn);  // the default sink again
  std::lock_guard<std::mutex> lock(mutex);
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  INFO(all);
  CHECK(all.find("client: transport spool (configured spool, api_key not set), spool_dir " + (dir.path / "spool").string()) !=
        std::string::npos);
  CHECK(all.find("client: transport http (configured http, api_key set), api_url http://127.0.0.1:9") !=
        std::string::npos);
  CHECK(all.find("/outbox") != std::string::npos);
  CHECK(all.find("pt_secret_key_value") == std::string::npos);
}
