#include "transport/spool_replay.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/log.hpp"
#include "transport/spool.hpp"

namespace promptetheus::detail {

namespace {

constexpr std::string_view kJsonl = ".jsonl";
constexpr std::string_view kClaimMarker = ".replaying-";

// Closes the descriptor (and so releases its flock) when the claim goes out of scope.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The pending and claimed files a replay takes, sorted by name: hidden names and symbolic links
// are left alone.
std::vector<std::string> list_spool_files(const std::string& dir) {
  std::vector<JsonlFile> files;
  list_jsonl_files(dir, files, /*follow_links=*/false);
  std::vector<std::string> names;
  for (auto& f : files) {
    if (f.name[0] != '.') names.push_back(std::move(f.name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string unique_suffix() {
  static std::atomic<std::uint64_t> counter{0};
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::steady_clock::now().time_since_epoch())
                .count();
  return std::to_string(::getpid()) + "-" + std::to_string(::syscall(SYS_gettid)) + "-" +
         std::to_string(ns) + std::to_string(counter.fetch_add(1));
}

struct Claim {
  Fd fd;
  std::string claimed_path;
  std::string pending_path;
  std::string stem;  // the pending name without ".jsonl": the fallback session id
};

enum class ClaimStatus { claimed, busy, gone };

// Locks `dir/name` and renames it to this replayer's claim name.
ClaimStatus claim_file(const std::string& dir, const std::string& name, Claim& claim) {
  const std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ClaimStatus::gone;
  claim.fd.fd = fd;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) return ClaimStatus::busy;
  // The path may have been renamed or deleted (and maybe re-created) between open and lock by
  // a replayer that finished with it: only the inode still linked at `path` may be claimed.
  struct stat held {}, now {};
  if (::fstat(fd, &held) != 0 || ::stat(path.c_str(), &now) != 0 || held.st_ino != now.st_ino ||
      held.st_dev != now.st_dev) {
    return ClaimStatus::gone;
  }
  std::string pending = pending_name_of(name);
  claim.stem = pending.substr(0, pending.size() - kJsonl.size());
  claim.pending_path = dir + "/" + pending;
  claim.claimed_path = dir + "/" + claim.stem + std::string(kClaimMarker) + unique_suffix() + ".jsonl";
  if (::rename(path.c_str(), claim.claimed_path.c_str()) != 0) return ClaimStatus::gone;
  return ClaimStatus::claimed;
}

bool read_all(int fd, std::string& out) {
  out.clear();
  char buf[65536];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
}

bool write_all(int fd, std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Ends a claim. With nothing left the file is deleted. Otherwise the claimed file is rewritten
// with what is left (when that changed) and put back under its pending name, or appended to a
// pending file that appeared meanwhile. On failure the claimed file stays, unlocked: the next
// replayer takes it over.
bool release(const std::string& dir, Claim& claim, const std::string& left, bool unchanged) {
  if (left.empty()) return ::unlink(claim.claimed_path.c_str()) == 0 || errno == ENOENT;
  Fd rewritten;
  if (!unchanged) {
    std::string tmp = dir + "/." + claim.stem + ".tmp-" + unique_suffix();
    rewritten.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (rewritten.fd < 0) return false;
    // Locked before it takes the claimed name, so nobody mistakes it for an abandoned claim.
    if (::flock(rewritten.fd, LOCK_EX) != 0 || !write_all(rewritten.fd, left) ||
        ::rename(tmp.c_str(), claim.claimed_path.c_str()) != 0) {
      ::unlink(tmp.c_str());
      return false;
    }
  }
  if (::link(claim.claimed_path.c_str(), claim.pending_path.c_str()) == 0) {
    ::unlink(claim.claimed_path.c_str());
    return true;
  }
  if (errno == EEXIST) {
    // New events of this session were spooled meanwhile: add ours to that file.
    if (!Spool::append_file(claim.pending_path, left)) return false;
    ::unlink(claim.claimed_path.c_str());
    return true;
  }
  // A filesystem without hard links: rename when the pending name is still free.
  struct stat st {};
  if (::stat(claim.pending_path.c_str(), &st) != 0 && errno == ENOENT &&
      ::rename(claim.claimed_path.c_str(), claim.pending_path.c_str()) == 0) {
    return true;
  }
  return false;
}

}  // namespace

std::string pending_name_of(std::string_view file_name) {
  std::string name(file_name);
  auto marker = name.find(kClaimMarker);
  if (marker != std::string::npos) return name.substr(0, marker) + std::string(kJsonl);
  return name;
}

void set_session_flags(const nlohmann::json& event, EncodedEvent& out) {
  const auto type = event.find("type");
  out.ends_session = type != event.end() && *type == "session_end";
  out.starts_session = false;
  if (type != event.end() && *type == "state_change") {
    const auto payload = event.find("payload");
    out.starts_session =
        payload != event.end() && payload->is_object() && payload->value("name", "") == "session_started";
  }
}

bool parse_spool_line(std::string_view line, const std::string& fallback_session, EncodedEvent& out) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
    line.remove_suffix(1);
  }
  if (line.empty()) return false;
  auto doc = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (!doc.is_object()) return false;
  out.session_id = fallback_session;
  auto sid = doc.find("session_id");
  if (sid != doc.end() && sid->is_string() && !sid->get_ref<const std::string&>().empty()) {
    out.session_id = sid->get<std::string>();
  }
  out.seq = 0;
  auto seq = doc.find("seq");
  if (seq != doc.end() && seq->is_number_unsigned()) out.seq = seq->get<std::uint64_t>();
  set_session_flags(doc, out);
  out.outcome = DeliveryOutcome::pending;
  out.json.assign(line.begin(), line.end());
  return true;
}

ReplayReport replay_spool(const std::string& dir, const ReplayOptions& options,
                          const ReplaySink& sink) noexcept {
  ReplayReport report;
  try {
    const std::size_t batch_size = std::max<std::size_t>(1, options.batch_size);
    std::size_t batches = 0;
    auto budget_left = [&] {
      return !options.deadline.expired() && (options.max_batches == 0 || batches < options.max_batches);
    };
    for (const auto& name : list_spool_files(dir)) {
      if (report.stopped) break;
      if (!budget_left()) {
        report.out_of_budget = true;
        break;
      }
      Claim claim;
      switch (claim_file(dir, name, claim)) {
        case ClaimStatus::busy: ++report.files_busy; continue;
        case ClaimStatus::gone: continue;
        case ClaimStatus::claimed: ++report.files_claimed; break;
      }

      std::string content;
      if (!read_all(claim.fd.fd, content)) {
        log_warn("spool replay: cannot read " + claim.claimed_path + ": " + std::strerror(errno));
        report.io_error = true;
        release(dir, claim, content, true);
        continue;
      }
      std::vector<EncodedEvent> events;
      std::size_t line_no = 0, start = 0, malformed = 0;
      while (start < content.size()) {
        std::size_t end = content.find('\n', start);
        if (end == std::string::npos) end = content.size();
        std::string_view line(content.data() + start, end - start);
        ++line_no;
        EncodedEvent ev;
        if (parse_spool_line(line, claim.stem, ev)) {
          events.push_back(std::move(ev));
        } else if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
          ++malformed;
          log_warn("spool replay: skipping malformed line " + std::to_string(line_no) + " of " + name);
        }
        start = end + 1;
      }

      std::string left;
      bool unchanged = true;
      auto keep = [&](const EncodedEvent& e) {
        left += e.json;
        left += '\n';
        ++report.events_kept;
      };
      std::size_t i = 0;
      while (i < events.size()) {
        if (report.stopped || !budget_left()) {
          if (!report.stopped) report.out_of_budget = true;
          for (; i < events.size(); ++i) keep(events[i]);
          break;
        }
        std::vector<EncodedEvent> batch;
        const std::string sid = events[i].session_id;
        while (i < events.size() && batch.size() < batch_size && events[i].session_id == sid) {
          batch.push_back(events[i++]);
        }
        ReplayBatchResult result;
        try {
          result = sink(sid, batch);
        } catch (...) {
          result.stop = true;
        }
        ++batches;
        if (result.stop) {
          report.stopped = true;
          for (const auto& e : batch) keep(e);
          continue;  // the loop head keeps the rest
        }
        unchanged = false;
        report.events_sent += batch.size();
        std::sort(result.keep.begin(), result.keep.end());
        result.keep.erase(std::unique(result.keep.begin(), result.keep.end()), result.keep.end());
        for (std::size_t k : result.keep) {
          if (k < batch.size()) keep(batch[k]);
        }
      }
      report.malformed_lines += malformed;
      if (malformed > 0) unchanged = false;
      if (!release(dir, claim, left, unchanged)) {
        log_warn("spool replay: cannot release " + claim.claimed_path + ": " + std::strerror(errno));
        report.io_error = true;
      } else if (left.empty()) {
        ++report.files_completed;
      } else {
        ++report.files_released;
      }
    }
  } catch (...) {
    report.io_error = true;
  }
  return report;
}

}  // namespace promptetheus::detail
