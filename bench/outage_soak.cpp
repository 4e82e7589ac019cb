// Soak: a long outage of the HTTP API. Records N events (default 1 000 000) into one session
// through the public API while the API refuses every connection, then shuts down, and reports as
// one JSON line: the growth of the process's resident memory (peak and final, over the baseline
// after init), the counters, the lines on disk and the shutdown time. Exit status 1 when an
// event is unaccounted for (every event must be spooled, or dropped and counted).
//
//   outage_soak [events] [spool_dir]
// Run it several times in a row with bench/outage_soak.sh.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <promptetheus/promptetheus.hpp>

namespace pt = promptetheus;

namespace {

// VmRSS or VmHWM of this process, in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

// A loopback port with nothing listening: connections are refused at once.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::uint64_t lines_under(const std::filesystem::path& dir) {
  std::uint64_t lines = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    char buffer[1 << 16];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
      for (std::streamsize i = 0; i < in.gcount(); ++i) lines += buffer[i] == '\n';
    }
  }
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  const long events = argc > 1 ? std::atol(argv[1]) : 1000000;
  const std::filesystem::path dir = argc > 2 ? argv[2] : "/tmp/promptetheus-outage-soak";
  std::filesystem::remove_all(dir);

  pt::Options options;
  options.transport = pt::TransportMode::http;
  options.api_url = "http://127.0.0.1:" + std::to_string(closed_port());
  options.api_key = "pt_soak";
  options.spool_dir = (dir / "spool").string();
  options.artifact_dir = (dir / "artifacts").string();
  options.spool_max_bytes = 0;  // unbounded: every event must be found on disk
  options.flush_at_exit = false;
  options.shutdown_timeout = std::chrono::seconds(5);
  options.log_level = pt::LogLevel::error;
  if (!pt::init(options).ok()) return 2;
  const long baseline = status_kib("VmRSS");

  const auto start = std::chrono::steady_clock::now();
  {
    pt::SessionOptions session_options;
    session_options.agent = "soak";
    session_options.session_id = "outage-soak";
    pt::Session session(session_options);
    const std::string text(180, 'x');  // ~250-byte lines, as in the pipeline benchmarks
    for (long i = 0; i < events; ++i) session.agent_message(text);
  }
  const auto recorded = std::chrono::steady_clock::now();
  const auto shutdown_start = std::chrono::steady_clock::now();
  const bool clean = pt::shutdown(std::chrono::seconds(5));
  const auto shutdown_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - shutdown_start).count();
  const pt::Stats stats = pt::stats();  // the default client stays readable after shutdown
  const long final_rss = status_kib("VmRSS");
  const long peak_rss = status_kib("VmHWM");
  const std::uint64_t on_disk = lines_under(dir / "spool");
  const std::uint64_t accounted = stats.written + stats.dead_lettered + stats.dropped_total();
  std::printf(
      "{\"events\":%ld,\"record_ms\":%lld,\"shutdown_ms\":%lld,\"shutdown_clean\":%s,"
      "\"baseline_rss_mib\":%.1f,\"peak_growth_mib\":%.1f,\"final_growth_mib\":%.1f,"
      "\"enqueued\":%llu,\"spooled\":%llu,\"overflow_spilled\":%llu,\"delivered\":%llu,\"dropped\":%llu,"
      "\"lines_on_disk\":%llu}\n",
      events,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(recorded - start).count()),
      static_cast<long long>(shutdown_ms), clean ? "true" : "false", baseline / 1024.0,
      (peak_rss - baseline) / 1024.0, (final_rss - baseline) / 1024.0,
      static_cast<unsigned long long>(stats.enqueued), static_cast<unsigned long long>(stats.spooled),
      static_cast<unsigned long long>(stats.overflow_spilled), static_cast<unsigned long long>(stats.delivered),
      static_cast<unsigned long long>(stats.dropped_total()), static_cast<unsigned long long>(on_disk));
  std::filesystem::remove_all(dir);
  const bool all_accounted = accounted == stats.enqueued && stats.queue_depth == 0 && on_disk == stats.spooled;
  return all_accounted ? 0 : 1;
}
