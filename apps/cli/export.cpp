// `promptetheus export SESSION_ID [--dir D] [--out FILE] [--api URL] [--format json|otlp]
//  [--to URL [--header K=V]...]` (contract §6.11); with --api, the session as the server stores
// it. `--format otlp` writes the session as OpenTelemetry spans, the OTLP/HTTP JSON request a
// collector's /v1/traces accepts; with --to it sends that request there.
#include <fcntl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "analysis/export_document.hpp"
#include "analysis/otlp_export.hpp"
#include "analysis/session_store.hpp"
#include "api_access.hpp"
#include "cli_common.hpp"
#include "cli_http.hpp"
#include "core/otlp_headers.hpp"
#include "transport/otlp_exporter.hpp"
#include "promptetheus/version.hpp"
#include "session_loading.hpp"

namespace promptetheus::cli {

namespace {
struct ExportOptions {
  std::string session_id;
  std::string dir;  // empty until parsed: then --dir or the configured spool directory
  std::string out;
  std::string format = "json";
  std::string to;                    // an OTLP/HTTP traces URL to send the document to
  std::vector<std::string> headers;  // --header K=V
  ApiOptions api;
};

// Sends the document; prints what the receiver made of it. Exit 0 when every span was taken.
int send_otlp(const std::string& endpoint, const std::vector<std::string>& header_options,
              const std::string& document, std::size_t spans) {
  // PROMPTETHEUS_OTLP_HEADERS first, then each --header (the same `k=v` list form).
  std::string list;
  if (const char* env = std::getenv("PROMPTETHEUS_OTLP_HEADERS")) list = env;
  for (const std::string& header : header_options) list += "," + header;
  const detail::OtlpHeaders parsed = detail::parse_otlp_headers(list);
  for (const std::string& problem : parsed.problems) print_error("promptetheus: " + problem);
  HttpCaller caller;
  caller.user_agent = "promptetheus-cli/" PROMPTETHEUS_VERSION_STRING;
  for (const auto& [name, value] : parsed.headers) caller.extra_headers.push_back(name + ": " + value);
  const std::string url = detail::otlp_traces_url(endpoint);
  const HttpReply reply = http_post_json(url, document, "", std::chrono::seconds(30), caller);
  if (reply.status < 200 || reply.status >= 300) {
    print_error("promptetheus: " + url + " did not take the spans: " +
                (reply.status ? "HTTP " + std::to_string(reply.status) + " " + reply.body.substr(0, 500)
                              : reply.reason));
    return kApiErrorExit;
  }
  std::string why;
  const std::int64_t rejected = detail::otlp_rejected_spans(reply.body, &why);
  if (rejected > 0) {
    print_line("Sent " + std::to_string(spans) + " span(s) to " + url + "; " + std::to_string(rejected) +
               " rejected: " + why);
    return 1;
  }
  print_line("Sent " + std::to_string(spans) + " span(s) to " + url + ".");
  return 0;
}
}  // namespace

void add_export_command(CLI::App& app, ExitCode& rc) {
  auto opts = std::make_shared<ExportOptions>();
  auto* cmd = app.add_subcommand("export", "Write a spooled session as one JSON document");
  cmd->add_option("session_id", opts->session_id, "Session id")->required();
  add_spool_dir_option(*cmd, opts->dir);
  cmd->add_option("-o,--out", opts->out, "Write to this file instead of stdout");
  cmd->add_option("--format", opts->format,
                  "json: the recorded events (default); otlp: OpenTelemetry spans as OTLP/HTTP JSON")
      ->check(CLI::IsMember({"json", "otlp"}));
  cmd->add_option("--to", opts->to,
                  "With --format otlp: send the spans to this OTLP/HTTP endpoint (a base URL gets /v1/traces)");
  cmd->add_option("--header", opts->headers,
                  "With --to: an extra request header K=V (repeatable; after PROMPTETHEUS_OTLP_HEADERS)");
  add_api_options(*cmd, opts->api);
  cmd->callback([opts, &rc] {
    using namespace analysis;
    if (!opts->to.empty() && opts->format != "otlp") {
      print_error("promptetheus export: error: --to sends OpenTelemetry spans: use it with --format otlp");
      rc.value = kUsageErrorExit;
      return;
    }
    std::optional<Session> session;
    std::string id = opts->session_id;  // the argument as given, or the id a prefix stands for
    if (opts->api.url.empty()) {
      session = load_session_id(id, opts->dir);
      std::vector<std::string> matches;
      if (!session) {
        if (auto full_id = session_id_with_prefix(opts->session_id, opts->dir, matches)) {
          session = load_session_id(*full_id, opts->dir);
          if (session) {
            print_error("note: '" + opts->session_id + "' is session " + *full_id);
            id = *full_id;
          }
        }
      }
      if (!session) {
        print_line("No spooled session " + opts->session_id + " in " + display_path(opts->dir) + ".");
        rc.value = 1;
        return;
      }
    } else {
      const ApiAccess access = api_access(opts->api);
      Session fetched;
      std::string error;
      switch (fetch_session(access, opts->session_id, fetched, error)) {
        case FetchOutcome::found: session = std::move(fetched); break;
        case FetchOutcome::not_found:
          print_line("No session " + opts->session_id + " at " + access.url + ".");
          rc.value = 1;
          return;
        case FetchOutcome::failed:
          print_error("promptetheus: could not read '" + opts->session_id + "' from " + access.url + ": " + error);
          rc.value = kApiErrorExit;
          return;
      }
    }
    warn_about_read({session->source, session->stats.blank, session->stats.malformed,
                     session->stats.unreadable, session->stats.error});
    const bool otlp = opts->format == "otlp";
    std::size_t spans = 0;
    std::string doc;
    if (otlp) {
      const nlohmann::ordered_json request = otlp_trace_document(*session);
      spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
      if (!opts->to.empty()) {
        rc.value = send_otlp(opts->to, opts->headers,
                             request.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace), spans);
        return;
      }
      doc = request.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    } else {
      doc = export_document(id, *session);
    }
    if (opts->out.empty()) {
      rc.value = 0;
      print_line(doc);
      return;
    }
    // Private (0600) like the spool it comes from; an existing file keeps its mode.
    const int fd = ::open(opts->out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    std::FILE* f = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
    if (fd >= 0 && f == nullptr) ::close(fd);
    const bool ok = f && std::fwrite(doc.data(), 1, doc.size(), f) == doc.size();
    const int err = errno;
    const bool closed = f && std::fclose(f) == 0;
    if (!ok || !closed) {
      print_error("Could not write " + opts->out + ": " + std::strerror(err));
      rc.value = 1;
      return;
    }
    rc.value = 0;
    print_line(otlp ? "Exported " + std::to_string(spans) + " span(s) to " + opts->out + "."
                    : "Exported " + std::to_string(session->events.size()) + " event(s) to " + opts->out + ".");
  });
}

}  // namespace promptetheus::cli
