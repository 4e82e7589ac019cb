// `promptetheus report TARGET [-o FILE] [--dir D] [--api URL] [--console-token T]`: the console's
// session page as one self-contained HTML file (the console's own CSS and JS inlined, the whole
// analysis in a JSON data block, screenshots as data: URIs, a CSP allowing nothing else).
#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "analysis/fingerprint.hpp"
#include "analysis/reports.hpp"
#include "analysis/run_beside.hpp"
#include "analysis/script_safe_json.hpp"
#include "analysis/timeline.hpp"
#include "cli_common.hpp"
#include "cli_http.hpp"
#include "core/sha256.hpp"
#include "dev/console_assets.hpp"
#include "session_loading.hpp"

namespace promptetheus::cli {

namespace {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

/// The most screenshot bytes inlined into one report (before base64).
constexpr std::size_t kMaxInlinedBytes = 20u << 20;

struct ReportOptions {
  std::string target;
  std::string out;
  std::string dir;
  ApiOptions api;
};

std::string asset(const char* path) {
  using namespace devserver::console_assets;
  for (std::size_t i = 0; i < kAssetCount; ++i) {
    if (std::strcmp(kAssets[i].path, path) == 0) {
      return std::string(reinterpret_cast<const char*>(kAssets[i].data), kAssets[i].size);
    }
  }
  return {};
}

std::string base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string csp_hash(std::string_view text) {
  const auto digest = detail::sha256(text);
  return "'sha256-" + base64(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size())) + "'";
}

std::string html_text(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

/// image/png or image/jpeg by the file's first bytes; "" for anything else.
const char* image_type(std::string_view bytes) {
  if (bytes.size() >= 8 && bytes.substr(0, 8) == std::string_view("\x89PNG\r\n\x1a\n", 8)) return "image/png";
  if (bytes.size() >= 3 && bytes.substr(0, 3) == "\xFF\xD8\xFF") return "image/jpeg";
  return "";
}

bool read_file(const fs::path& path, std::size_t max, std::string& out, bool& too_big) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  const auto size = fs::file_size(path, ec);
  if (ec) return false;
  if (size > max) {
    too_big = true;
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

/// Where a locally recorded artifact may be: its storage_path as written (relative to where the
/// SDK ran), or relative to the directory holding the spool's `.promptetheus`.
std::vector<fs::path> local_candidates(const std::string& storage_path, const std::string& dir,
                                       const std::string& source) {
  std::vector<fs::path> out;
  const fs::path sp(storage_path);
  out.push_back(sp);
  if (sp.is_absolute()) return out;
  for (const std::string& base : {dir, fs::path(source).parent_path().string()}) {
    if (base.empty()) continue;
    fs::path p = fs::absolute(fs::path(base));
    for (int up = 0; up < 3 && p.has_parent_path() && p != p.parent_path(); ++up) {
      p = p.parent_path();
      out.push_back(p / sp);
    }
  }
  return out;
}

/// The default output name: the id with every byte outside [A-Za-z0-9._-] as `_`.
std::string safe_file_name(const std::string& id) {
  std::string out;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || (c == '.' && !out.empty());
    out += ok ? c : '_';
  }
  return out.empty() ? "session" : out;
}

/// Timeline entries per data block of a report: the console's page, so that showing a page
/// parses one block.
constexpr std::size_t kEntriesPerBlock = 500;

/// Blocks [first, end) of the timeline's entries, each a JSON array of kEntriesPerBlock entries
/// (the last one fewer) in `<script type="application/json" id="promptetheus-entries-K">`.
void append_entry_blocks(std::string& out, const analysis::Timeline& timeline, std::size_t first, std::size_t end) {
  for (std::size_t k = first; k < end; ++k) {
    out += "<script type=\"application/json\" id=\"promptetheus-entries-" + std::to_string(k) + "\">";
    const std::size_t begin = k * kEntriesPerBlock;
    analysis::append_entries_json(out, timeline, begin, std::min(begin + kEntriesPerBlock, timeline.entries.size()));
    out += "</script>\n";
  }
}

/// Writes `pieces` to `path`, created readable by its owner only.
bool write_private(const std::string& path, const std::vector<std::string_view>& pieces, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  std::FILE* f = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
  if (fd >= 0 && f == nullptr) ::close(fd);
  bool ok = f != nullptr;
  for (const std::string_view piece : pieces) ok = ok && std::fwrite(piece.data(), 1, piece.size(), f) == piece.size();
  const int err = errno;
  const bool closed = f && std::fclose(f) == 0;
  if (!ok || !closed) {
    error = std::strerror(err);
    return false;
  }
  return true;
}

}  // namespace

void add_report_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "Write a session as one self-contained HTML page");
  cmd->add_option("target", opts->target, "Session id or file path")->required();
  cmd->add_option("-o,--out", opts->out, "Output file (default <session-id>.html, - for stdout)");
  add_spool_dir_option(*cmd, opts->dir);
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    rc.value = 0;
    const auto session =
        load_target_or_report(opts->target, opts->dir, ReadWarning::stderr_only, opts->api, rc.value);
    if (!session) return;

    // The fingerprint is computed beside the timeline (a report is read whole, 100 000 events
    // and more, and both read every event).
    analysis::Fingerprint fp;
    const analysis::Timeline timeline = analysis::run_beside(
        [&] { fp = analysis::fingerprint_v1(session->events); },
        [&] { return analysis::build_timeline(session->events, configured_prices()); });
    std::string id = timeline.overview.session_id.value_or("");
    if (id.empty()) id = fs::path(opts->target).stem().string();
    // Screenshots, as data: URIs, up to kMaxInlinedBytes in all.
    ojson images = ojson::object();
    ojson omitted = ojson::object();
    std::size_t inlined = 0;
    std::vector<std::string> notes;
    const ApiAccess access = opts->api.url.empty() ? ApiAccess{} : api_access(opts->api);
    for (const analysis::TimelineEntry& entry : timeline.entries) {
      if (entry.type != "screenshot" || !entry.event->payload.is_object()) continue;
      const analysis::JsonView aid_value = entry.event->payload_get("artifact_id");
      if (!aid_value.is_string()) continue;
      const std::string aid = aid_value.as_string();
      if (aid.empty()) continue;
      if (images.contains(aid) || omitted.contains(aid)) continue;
      const std::size_t room = kMaxInlinedBytes - inlined;
      std::string bytes;
      std::string why;
      bool got = false;
      if (!access.url.empty()) {
        const HttpReply reply = http_get(access.url + "/api/traces/" + encode_path_segment(id) + "/artifacts/" +
                                             encode_path_segment(aid),
                                         kReadTimeout, access.console_token, room + 1);
        if (reply.status == 200 && !reply.body_truncated && reply.body.size() <= room) {
          bytes = reply.body;
          got = true;
        } else if (reply.status == 200) {
          why = "left out: over the 20 MiB limit for inlined screenshots";
        } else {
          why = "not found on the server";
        }
      } else {
        const analysis::JsonView sp_value = entry.event->payload_get("storage_path");
        const std::string sp = sp_value.is_string() ? sp_value.as_string() : std::string();
        if (sp.empty()) {
          why = "no stored file";
        } else {
          bool too_big = false;
          for (const fs::path& p : local_candidates(sp, opts->dir, session->source)) {
            if (read_file(p, room, bytes, too_big)) {
              got = true;
              break;
            }
            if (too_big) break;
          }
          if (too_big) why = "left out: over the 20 MiB limit for inlined screenshots";
          else if (!got) why = "file not found: " + sp;
        }
      }
      if (got) {
        const char* type = image_type(bytes);
        if (!*type) {
          got = false;
          why = "not a PNG or JPEG image";
        } else {
          inlined += bytes.size();
          images[aid] = std::string("data:") + type + ";base64," + base64(bytes);
          continue;
        }
      }
      omitted[aid] = why;
      notes.push_back("screenshot " + aid + ": " + why);
    }
    // The data block is written as text: the entries straight from the events (a tree of
    // 100 000 events would cost seconds), the small members through nlohmann.
    const auto small = [](const ojson& value) {
      std::string text;
      analysis::append_script_safe_json(text, value.dump(-1, ' ', false, ojson::error_handler_t::replace));
      return text;
    };
    const std::size_t shots = images.size();
    std::string data;
    data += "{\"trace\":" + small(ojson{{"id", id}});
    data += ",\"fingerprint\":" + small(analysis::fingerprint_json(fp, *session));
    data += ",\"overview\":" + small(analysis::overview_json(timeline.overview));
    data += ",\"total_entries\":" + std::to_string(timeline.entries.size());
    data += ",\"entries_per_block\":" + std::to_string(kEntriesPerBlock);
    // The entries, most of the page, are written in blocks after this one, by two threads (the
    // first half of the blocks and the second).
    const std::size_t blocks = (timeline.entries.size() + kEntriesPerBlock - 1) / kEntriesPerBlock;
    std::string first_half, second_half;
    analysis::run_beside([&] { append_entry_blocks(second_half, timeline, blocks / 2, blocks); },
                         [&] {
                           append_entry_blocks(first_half, timeline, 0, blocks / 2);
                           return 0;
                         });
    std::string rest = ",\"spans\":" + small(analysis::spans_json(timeline.spans));
    rest += ",\"images\":" + small(images);
    rest += ",\"omitted_images\":" + small(omitted) + "}</script>\n";
    const std::string css = asset("/console.css");
    const std::string js = asset("/console.js");
    // The page is written in pieces: the data block is most of it, and is not copied.
    std::string head;
    head += "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    head += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src " + csp_hash(js) +
            "; style-src " + csp_hash(css) + "; img-src data:; base-uri 'none'; form-action 'none'\">\n";
    head += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    head += "<title>Promptetheus report: " + html_text(id) + "</title>\n";
    head += "<style>" + css + "</style>\n</head>\n<body>\n";
    head += "<header class=\"top\">\n  <strong class=\"brand\">Promptetheus</strong>\n  <span class=\"muted\">session report</span>\n</header>\n";
    head += "<main id=\"app\"><p class=\"muted\">Loading…</p></main>\n";
    head += "<script type=\"application/json\" id=\"promptetheus-report\">";
    const std::string tail = "<script>" + js + "</script>\n</body>\n</html>\n";
    const std::vector<std::string_view> page{head, data, rest, first_half, second_half, tail};

    for (const std::string& note : notes) print_error("promptetheus: " + note);
    const std::string summary = std::to_string(session->events.size()) + " events, " + std::to_string(shots) +
                                (shots == 1 ? " screenshot" : " screenshots");
    if (opts->out == "-") {
      for (const std::string_view piece : page) write_out(piece);
      return;
    }
    const std::string path = opts->out.empty() ? safe_file_name(id) + ".html" : opts->out;
    std::string error;
    if (!write_private(path, page, error)) {
      print_error("Could not write " + path + ": " + error);
      rc.value = 1;
      return;
    }
    print_line("Wrote " + path + " (" + summary + ").");
  });
}

}  // namespace promptetheus::cli
