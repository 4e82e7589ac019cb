// `promptetheus report`: one self-contained HTML page per session. The data block parses back,
// the CSP hashes match the inline script and style, hostile strings stay text, screenshots are
// inlined, and headless Chromium renders the session page from a file:// URL.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "conformance/subprocess.hpp"
#include "core/sha256.hpp"

namespace {

using nlohmann::json;
using promptetheus::test::run_process;
using promptetheus::test::TempDir;

const std::string kFailExc = std::string(PROMPTETHEUS_SHARED_DIR) + "/conformance/public/spool/fail_exc.jsonl";
const std::string kDataOpen = "<script type=\"application/json\" id=\"promptetheus-report\">";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string between(const std::string& text, const std::string& open, const std::string& close) {
  const auto a = text.find(open);
  if (a == std::string::npos) return {};
  const auto b = text.find(close, a + open.size());
  if (b == std::string::npos) return {};
  return text.substr(a + open.size(), b - a - open.size());
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = -6;
  for (const unsigned char c : bytes) {
    value = (value << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out += kAlphabet[(value >> bits) & 63];
      bits -= 6;
    }
  }
  if (bits > -6) out += kAlphabet[((value << 8) >> (bits + 8)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

std::string csp_hash(const std::string& text) {
  const auto d = promptetheus::detail::sha256(text);
  return "'sha256-" + base64(std::string(reinterpret_cast<const char*>(d.data()), d.size())) + "'";
}

// The report's data: its main block, with "entries" put together from the entry blocks that
// follow it ("promptetheus-entries-0", -1, ...: each must be a JSON array, in order).
json data_block(const std::string& html) {
  json data = json::parse(between(html, kDataOpen, "</script>"), nullptr, false);
  if (!data.is_object()) return data;
  json entries = json::array();
  for (std::size_t k = 0;; ++k) {
    const std::string open = "<script type=\"application/json\" id=\"promptetheus-entries-" + std::to_string(k) + "\">";
    if (html.find(open) == std::string::npos) break;
    const json block = json::parse(between(html, open, "</script>"), nullptr, false);
    if (!block.is_array()) return json::value_t::discarded;
    for (const json& e : block) entries.push_back(e);
  }
  data["entries"] = std::move(entries);
  return data;
}

std::string chromium_binary() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return {};
}

std::string dump_dom(const std::string& file, const std::string& profile) {
  const auto r = run_process("/usr/bin/timeout",
                             {"90", chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu",
                              "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
                              "--virtual-time-budget=5000", "--dump-dom", "file://" + file},
                             profile);
  INFO("chromium exited " << r.exit_code << ": " << r.err.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  return r.out;
}

const std::string kScript = "</script><script>alert(1)</script>";
const std::string kImg = "<img src=x onerror=alert(1)>";

}  // namespace

TEST_CASE("report CLI: the failing public session as one page with matching CSP hashes", "[conformance][cli][report]") {
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", kFailExc}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Wrote fail_exc.html (11 events, 0 screenshots).\n");
  const std::string path = dir.path() + "/fail_exc.html";
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string html = slurp(path);
  const json data = data_block(html);
  REQUIRE(data.is_object());
  CHECK(data["trace"]["id"] == "fail_exc");
  CHECK(data["total_entries"] == 11);
  CHECK(data["entries"].size() == 11);
  CHECK(data["overview"]["status"] == "failed");
  CHECK(data["fingerprint"]["is_failure"] == true);

  const std::string script = between(html, "<script>", "</script>");
  const std::string style = between(html, "<style>", "</style>");
  REQUIRE(!script.empty());
  REQUIRE(!style.empty());
  CHECK(script.find("promptetheus-report") != std::string::npos);
  const std::string csp = between(html, "<meta http-equiv=\"Content-Security-Policy\" content=\"", "\">");
  CHECK(csp == "default-src 'none'; script-src " + csp_hash(script) + "; style-src " + csp_hash(style) +
                   "; img-src data:; base-uri 'none'; form-action 'none'");
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);

  // -o - writes the same page to stdout.
  const auto s = run_process(PROMPTETHEUS_CLI_PATH, {"report", kFailExc, "-o", "-"}, dir.path());
  CHECK(s.exit_code == 0);
  CHECK(s.out == html);
}

TEST_CASE("report CLI: a session that is not there exits 1", "[conformance][cli][report]") {
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", "no_such_session", "--dir", dir.path()}, dir.path());
  CHECK(r.exit_code == 1);
  CHECK(!std::filesystem::exists(dir.path() + "/no_such_session.html"));
}

TEST_CASE("report CLI: hostile strings stay inside the data block", "[conformance][cli][report]") {
  TempDir dir;
  json start = {{"seq", 0}, {"session_id", "hostile"}, {"timestamp", "2026-11-21T20:53:34.800000Z"},
                {"type", "state_change"},
                {"payload", {{"name", "session_started"},
                             {"after", {{"agent", "agent " + kScript}, {"user_goal", "<!-- goal \u2028 & more"}}}}}};
  json tool = {{"seq", 1}, {"session_id", "hostile"}, {"timestamp", "2026-11-21T20:53:34.900000Z"},
               {"type", "tool_call"},
               {"payload", {{"tool_name", kImg}, {"call_id", "c1"}, {"arguments", {{"q", "<!--"}}}}}};
  json result = {{"seq", 2}, {"session_id", "hostile"}, {"timestamp", "2026-11-21T20:53:35.000000Z"},
                 {"type", "tool_result"},
                 {"payload", {{"call_id", "c1"}, {"error", "boom " + kImg}, {"result", nullptr}}}};
  json end = {{"seq", 3}, {"session_id", "hostile"}, {"timestamp", "2026-11-21T20:53:35.100000Z"},
              {"type", "session_end"}, {"payload", {{"status", "failed"}, {"error", "end " + kScript}}}};
  const std::string file = dir.path() + "/hostile.jsonl";
  write_file(file, start.dump() + "\n" + tool.dump() + "\n" + result.dump() + "\n" + end.dump() + "\n");
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", file, "-o", "out.html"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string html = slurp(dir.path() + "/out.html");
  // The data block ends at the first </script>: all of it parses and holds every string intact.
  const json data = data_block(html);
  REQUIRE(data.is_object());
  CHECK(data["overview"]["end_error"] == "end " + kScript);
  CHECK(data["entries"].size() == 4);
  CHECK(data["entries"][1]["event"]["payload"]["tool_name"] == kImg);
  CHECK(html.find(kScript) == std::string::npos);
  CHECK(html.find(kImg) == std::string::npos);
  CHECK(html.find("<!--") == std::string::npos);
  CHECK(html.find("\u2028") == std::string::npos);

  INFO("chromium is not installed: scripts/setup.sh installs it (apt-get install chromium)");
  REQUIRE_FALSE(chromium_binary().empty());
  TempDir profile;
  const std::string dom = dump_dom(dir.path() + "/out.html", profile.path());
  CHECK(dom.find("<script>alert(1)</script>") == std::string::npos);
  CHECK(dom.find("<img src=\"x\"") == std::string::npos);
  CHECK(dom.find("end &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
}

TEST_CASE("report CLI: headless Chromium renders the failing session from a file URL", "[conformance][cli][report]") {
  INFO("chromium is not installed: scripts/setup.sh installs it (apt-get install chromium)");
  REQUIRE_FALSE(chromium_binary().empty());
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", kFailExc}, dir.path());
  REQUIRE(r.exit_code == 0);
  TempDir profile;
  const std::string dom = dump_dom(dir.path() + "/fail_exc.html", profile.path());
  INFO(dom.substr(0, 4000));
  CHECK(dom.find("Session <code>fail_exc</code>") != std::string::npos);
  CHECK(dom.find("calendar-agent") != std::string::npos);
  CHECK(dom.find("RuntimeError: agent selected the wrong day") != std::string::npos);
  CHECK(dom.find("class=\"badge failed\"") != std::string::npos);
  CHECK(dom.find("tl-row failed") != std::string::npos);
  // The failing tool result's timeline line.
  const auto tool_line = dom.find("tool_result</span><span class=\"text\">calendar.search FAILED: TimeoutError: upstream timed out after 3000ms");
  REQUIRE(tool_line != std::string::npos);
  const auto row = dom.rfind("<div class=\"tl-row", tool_line);
  REQUIRE(row != std::string::npos);
  const std::string failed_row = "<div class=\"tl-row failed";
  CHECK(dom.compare(row, failed_row.size(), failed_row) == 0);
  // No link that needs a server in the rendered page (the inline script itself is left out).
  const std::string page = between(dom, "<main id=\"app\">", "</main>");
  REQUIRE(!page.empty());
  CHECK(page.find("Compare with") == std::string::npos);
  CHECK(page.find("href=\"#/") == std::string::npos);
}

TEST_CASE("report CLI: a spooled screenshot is inlined as a data URI and a missing one is named", "[conformance][cli][report]") {
  TempDir dir;
  namespace fs = std::filesystem;
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  const std::string rel = ".promptetheus/artifacts/shot/artifact_1/step.png";
  fs::create_directories(fs::path(dir.path()) / ".promptetheus/artifacts/shot/artifact_1");
  fs::create_directories(fs::path(dir.path()) / ".promptetheus/spool");
  write_file(dir.path() + "/" + rel, png);
  auto shot = [](int seq, const std::string& id, const std::string& path) {
    return json{{"seq", seq}, {"session_id", "shot"}, {"timestamp", "2026-11-21T20:53:34.900000Z"},
                {"type", "screenshot"},
                {"payload", {{"artifact_id", id}, {"storage_path", path}, {"size_bytes", 16}}}}.dump() + "\n";
  };
  write_file(dir.path() + "/.promptetheus/spool/shot.jsonl",
             shot(0, "artifact_1", rel) + shot(1, "artifact_2", ".promptetheus/artifacts/shot/artifact_2/gone.png"));
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", "shot", "--dir", ".promptetheus/spool"}, dir.path());
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Wrote shot.html (2 events, 1 screenshot).\n");
  CHECK(r.err.find("artifact_2") != std::string::npos);
  const json data = data_block(slurp(dir.path() + "/shot.html"));
  REQUIRE(data.is_object());
  CHECK(data["images"]["artifact_1"] == "data:image/png;base64," + base64(png));
  CHECK(data["omitted_images"]["artifact_2"].get<std::string>().find("gone.png") != std::string::npos);
}

TEST_CASE("report CLI: a 100000-event session", "[conformance][cli][report]") {
  TempDir dir;
  std::string text;
  text.reserve(100000 * 160);
  for (int i = 0; i < 100000; ++i) {
    text += "{\"seq\":" + std::to_string(i) +
            ",\"session_id\":\"big\",\"timestamp\":\"2026-11-21T20:53:34.800000Z\",\"type\":\"agent_message\","
            "\"payload\":{\"content\":\"step " + std::to_string(i) + "\"}}\n";
  }
  write_file(dir.path() + "/big.jsonl", text);
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", dir.path() + "/big.jsonl"}, dir.path());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  WARN("report of 100000 events: " << seconds << " s");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "Wrote big.html (100000 events, 0 screenshots).\n");
  const json data = data_block(slurp(dir.path() + "/big.html"));
  CHECK(data["entries"].size() == 100000);
}

TEST_CASE("report CLI: the entries are in blocks of 500, and Chromium shows any page of them", "[conformance][cli][report]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 1234; ++i) {
    text += "{\"seq\":" + std::to_string(i) +
            ",\"session_id\":\"paged\",\"timestamp\":\"2026-11-21T20:53:34.800000Z\",\"type\":\"agent_message\","
            "\"payload\":{\"content\":\"step " + std::to_string(i) + "\"}}\n";
  }
  write_file(dir.path() + "/paged.jsonl", text);
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", dir.path() + "/paged.jsonl"}, dir.path());
  REQUIRE(r.exit_code == 0);
  const std::string html = slurp(dir.path() + "/paged.html");
  // Three blocks (500, 500, 234), then no more; the main block counts them all.
  for (int k = 0; k < 3; ++k) {
    const std::string open = "<script type=\"application/json\" id=\"promptetheus-entries-" + std::to_string(k) + "\">";
    const json block = json::parse(between(html, open, "</script>"), nullptr, false);
    REQUIRE(block.is_array());
    CHECK(block.size() == (k < 2 ? 500u : 234u));
    CHECK(block[0]["event"]["seq"] == 500 * k);
  }
  CHECK(html.find("id=\"promptetheus-entries-3\"") == std::string::npos);
  const json data = data_block(html);
  CHECK(data["total_entries"] == 1234);
  CHECK(data["entries_per_block"] == 500);
  REQUIRE(data["entries"].size() == 1234);
  CHECK(data["entries"][1233]["text"] == "step 1233");

  INFO("chromium is not installed: scripts/setup.sh installs it (apt-get install chromium)");
  REQUIRE_FALSE(chromium_binary().empty());
  const auto row = [](int i) { return "<span class=\"text\">step " + std::to_string(i) + "</span>"; };
  TempDir profile;
  const std::string first = dump_dom(dir.path() + "/paged.html", profile.path());
  CHECK(first.find("events 1–500 of 1234") != std::string::npos);
  CHECK(first.find(row(0)) != std::string::npos);
  CHECK(first.find(row(499)) != std::string::npos);
  CHECK(first.find(row(500)) == std::string::npos);
  // A page that starts inside one block and ends in the next, and the last page.
  TempDir profile2;
  const std::string across = dump_dom(dir.path() + "/paged.html#/session/paged?offset=750", profile2.path());
  CHECK(across.find("events 751–1234 of 1234") != std::string::npos);
  CHECK(across.find(row(749)) == std::string::npos);
  CHECK(across.find(row(750)) != std::string::npos);
  CHECK(across.find(row(1000)) != std::string::npos);
  CHECK(across.find(row(1233)) != std::string::npos);
  TempDir profile3;
  const std::string past_end = dump_dom(dir.path() + "/paged.html#/session/paged?offset=5000", profile3.path());
  CHECK(past_end.find("of 1234") != std::string::npos);
  CHECK(past_end.find("<span class=\"text\">step ") == std::string::npos);
}

TEST_CASE("report CLI: a server named with --api that cannot be read exits 3", "[conformance][cli][report]") {
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"report", "fail_exc", "--api", "http://127.0.0.1:9"}, dir.path());
  INFO(r.out << r.err);
  CHECK(r.exit_code == 3);
  CHECK(!std::filesystem::exists(dir.path() + "/fail_exc.html"));
}
