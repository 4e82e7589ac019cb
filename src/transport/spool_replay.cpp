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
#include "policy/regex.hpp"
#include "transport/spool.hpp"
#include "transport/spool_line.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

// Redacts a line read back (ReplayOptions::policy); false when nothing of it may be sent (the
// policy could not even write its skeleton), which the replay treats as a malformed line.
bool redacted(const EventPolicy& policy, EncodedEvent& event) {
  policy.redact_line(event);
  return !event.json.empty();
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    std::uint32_t group = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) group |= static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(group >> 18) & 63];
    out += kAlphabet[(group >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(group >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[group & 63] : '=';
  }
  return out;
}

// The dead-letter record of a spool line that is not an event: the line's bytes are kept
// exactly, so nothing of what was recorded is lost.
std::string malformed_line_record(std::string_view line, const std::string& file, std::size_t line_no) {
  nlohmann::json record = {{"_reject_reason", "malformed spool line: not a JSON object"},
                           {"_source_file", file},
                           {"_source_line", line_no}};
  if (is_valid_utf8(line)) {
    record["_raw"] = std::string(line);
  } else {
    record["_raw_base64"] = base64(line);
  }
  return record.dump() + "\n";
}

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

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kWriteChunk = 1 << 20;

// Reads a file line by line in 64 KiB chunks: memory stays bounded by the longest line, however
// big the file (a long outage leaves spool files of hundreds of megabytes).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  /// The next line (without its newline; a last line without one counts). False at the end or
  /// on a read error (see failed()).
  bool next(std::string_view& line) {
    for (;;) {
      std::size_t newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        line = std::string_view(buffer_.data() + pos_, newline - pos_);
        consumed_ += newline + 1 - pos_;
        pos_ = newline + 1;
        return true;
      }
      if (eof_) {
        if (pos_ >= buffer_.size()) return false;
        line = std::string_view(buffer_.data() + pos_, buffer_.size() - pos_);
        consumed_ += buffer_.size() - pos_;
        pos_ = buffer_.size();
        return true;
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      char chunk[kReadChunk];
      ssize_t n = ::pread(fd_, chunk, sizeof chunk, read_offset_);
      if (n < 0) {
        if (errno == EINTR) continue;
        failed_ = true;
        return false;
      }
      if (n == 0) eof_ = true;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      read_offset_ += n;
    }
  }
  /// Bytes of the file handed out as lines so far: where the unread rest starts.
  off_t consumed() const noexcept { return static_cast<off_t>(consumed_); }
  bool failed() const noexcept { return failed_; }

 private:
  int fd_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::uint64_t consumed_ = 0;
  off_t read_offset_ = 0;
  bool eof_ = false;
  bool failed_ = false;
};

// The lines a replay keeps, written as they come to a hidden temporary file next to the claim
// (created on the first line), so that memory stays bounded.
class KeptLines {
 public:
  KeptLines(const std::string& dir, const std::string& stem)
      : path_(dir + "/." + stem + ".tmp-" + unique_suffix()) {}
  ~KeptLines() {
    if (fd_.fd >= 0 && !handed_over_) ::unlink(path_.c_str());
  }
  void add(std::string_view line) {
    pending_.append(line.data(), line.size());
    pending_ += '\n';
    ++count_;
    if (pending_.size() >= kWriteChunk) flush();
  }
  /// Copies the rest of `fd` from `offset` (lines not looked at) and counts its lines.
  void add_rest(int fd, off_t offset) {
    char chunk[kReadChunk];
    bool ends_with_newline = true;
    for (;;) {
      ssize_t n = ::pread(fd, chunk, sizeof chunk, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        ok_ = false;
        return;
      }
      if (n == 0) break;
      pending_.append(chunk, static_cast<std::size_t>(n));
      count_ += static_cast<std::uint64_t>(std::count(chunk, chunk + n, '\n'));
      ends_with_newline = chunk[n - 1] == '\n';
      offset += n;
      if (pending_.size() >= kWriteChunk) flush();
    }
    if (!ends_with_newline) {
      pending_ += '\n';
      ++count_;
    }
  }
  /// Writes what is buffered; false when the temporary file could not be written.
  bool finish() {
    flush();
    return ok_;
  }
  std::uint64_t count() const noexcept { return count_; }
  const std::string& path() const noexcept { return path_; }
  int fd() const noexcept { return fd_.fd; }
  void handed_over() noexcept { handed_over_ = true; }

 private:
  void flush() {
    if (pending_.empty() || !ok_) return;
    if (fd_.fd < 0) {
      fd_.fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      // Locked before it can take the claimed name, so nobody mistakes it for an abandoned claim.
      if (fd_.fd < 0 || ::flock(fd_.fd, LOCK_EX) != 0) {
        ok_ = false;
        return;
      }
    }
    if (!write_all(fd_.fd, pending_)) ok_ = false;
    pending_.clear();
  }

  std::string path_;
  Fd fd_;
  std::string pending_;
  std::uint64_t count_ = 0;
  bool ok_ = true;
  bool handed_over_ = false;
};

// Appends the file open at `fd` to `path` in line-aligned chunks of about 1 MiB, each one
// locked append (so concurrent writers interleave whole lines and wait only briefly).
bool append_file_in_chunks(int fd, const std::string& path) {
  LineReader reader(fd);
  std::string chunk;
  std::string_view line;
  while (reader.next(line)) {
    chunk.append(line.data(), line.size());
    chunk += '\n';
    if (chunk.size() >= kWriteChunk) {
      if (!Spool::append_file(path, chunk)) return false;
      chunk.clear();
    }
  }
  if (reader.failed()) return false;
  return chunk.empty() || Spool::append_file(path, chunk);
}

// Ends a claim. With nothing kept the file is deleted. Otherwise the claimed file is replaced by
// the kept lines (unless `unchanged`: then the claimed file is put back as it is) under its
// pending name, or appended to a pending file that appeared meanwhile. On failure the claimed
// file stays, unlocked: the next replayer takes it over.
bool release(Claim& claim, KeptLines& kept, bool unchanged) {
  if (!unchanged && kept.count() == 0) return ::unlink(claim.claimed_path.c_str()) == 0 || errno == ENOENT;
  if (!unchanged) {
    if (!kept.finish() || ::rename(kept.path().c_str(), claim.claimed_path.c_str()) != 0) return false;
    kept.handed_over();
  }
  if (::link(claim.claimed_path.c_str(), claim.pending_path.c_str()) == 0) {
    ::unlink(claim.claimed_path.c_str());
    return true;
  }
  if (errno == EEXIST) {
    // New events of this session were spooled meanwhile: add ours to that file.
    const int source = unchanged ? claim.fd.fd : kept.fd();
    if (!append_file_in_chunks(source, claim.pending_path)) return false;
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

      // Stream the file: one batch of one session at a time.
      LineReader reader(claim.fd.fd);
      KeptLines kept(dir, claim.stem);
      const std::string dead_letter_path =
          (options.dead_letter_dir.empty() ? dir + "/" + kDeadLetterDirName : options.dead_letter_dir) + "/" +
          claim.stem + ".jsonl";
      std::size_t line_no = 0, malformed = 0;
      bool unchanged = true;
      auto keep = [&](const EncodedEvent& e) { kept.add(e.json); };
      std::vector<EncodedEvent> batch;
      std::string batch_session;
      off_t batch_start = 0;  // file offset of the batch's first line
      bool stop_here = false;
      auto send_batch = [&]() {
        if (batch.empty()) return;
        ReplayBatchResult result;
        try {
          result = sink(batch_session, batch);
        } catch (...) {
          result.stop = true;
        }
        ++batches;
        if (result.stop) {
          report.stopped = true;
          stop_here = true;  // this batch and the rest of the file stay
          return;
        }
        unchanged = false;
        report.events_sent += batch.size();
        std::sort(result.keep.begin(), result.keep.end());
        result.keep.erase(std::unique(result.keep.begin(), result.keep.end()), result.keep.end());
        for (std::size_t k : result.keep) {
          if (k < batch.size()) keep(batch[k]);
        }
        batch.clear();
      };
      std::string_view line;
      off_t line_start = 0;
      while (!stop_here) {
        if (batch.empty() && !budget_left()) {
          report.out_of_budget = true;
          stop_here = true;
          break;
        }
        line_start = reader.consumed();
        if (!reader.next(line)) break;
        ++line_no;
        EncodedEvent ev;
        if (!parse_spool_line(line, claim.stem, ev)) {
          if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;  // blank
          ++malformed;
          if (Spool::append_file(dead_letter_path, malformed_line_record(line, name, line_no))) {
            log_warn("spool replay: line " + std::to_string(line_no) + " of " + name +
                     " is not an event; moved to " + dead_letter_path);
          } else {
            log_warn("spool replay: line " + std::to_string(line_no) + " of " + name +
                     " is not an event and cannot be moved to the dead letter; it stays in the spool");
            kept.add(line);
          }
          continue;
        }
        if (options.policy && !redacted(*options.policy, ev)) {
          // Not even the fail-closed skeleton could be made (out of memory): neither sent nor
          // lost, the line waits for the next replay.
          kept.add(line);
          continue;
        }
        if (!batch.empty() && (batch.size() >= batch_size || ev.session_id != batch_session)) {
          send_batch();
          if (stop_here) break;
          if (!budget_left()) {
            report.out_of_budget = true;
            stop_here = true;
            batch_start = line_start;
            break;
          }
        }
        if (batch.empty()) {
          batch_session = ev.session_id;
          batch_start = line_start;
        }
        batch.push_back(std::move(ev));
      }
      if (!stop_here && !reader.failed()) send_batch();
      if (reader.failed()) {
        log_warn("spool replay: cannot read " + claim.claimed_path + ": " + std::strerror(errno));
        report.io_error = true;
        stop_here = true;
        if (batch.empty()) batch_start = line_start;
      }
      if (stop_here) {
        // Everything from the first unsent line on stays, byte for byte (unparsed lines too).
        if (!unchanged || malformed > 0) kept.add_rest(claim.fd.fd, batch_start);
      }
      report.malformed_lines += malformed;
      if (malformed > 0) unchanged = false;
      const bool whole_file_kept = unchanged;
      if (!release(claim, kept, whole_file_kept)) {
        log_warn("spool replay: cannot release " + claim.claimed_path + ": " + std::strerror(errno));
        report.io_error = true;
      } else if (!whole_file_kept && kept.count() == 0) {
        ++report.files_completed;
      } else {
        ++report.files_released;
      }
      report.events_kept += whole_file_kept ? line_no : kept.count();
    }
  } catch (...) {
    report.io_error = true;
  }
  return report;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
