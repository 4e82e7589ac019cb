#include "transport/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "core/files.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "transport/spool_replay.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct Spool::State {
  static constexpr std::uint64_t kUnknown = ~0ull;
  /// Estimated bytes in the spool; kUnknown until first scanned.
  std::atomic<std::uint64_t> size_estimate{kUnknown};
  /// The estimate above which append() prunes when it is more than max_bytes (0: max_bytes).
  /// Raised while only live or locked data is over the cap, so that appending to a live session
  /// does not rescan the directory on every call; lowered again when a session ends.
  std::atomic<std::uint64_t> prune_at{0};
  /// Events (lines) in the files deleted by pruning.
  std::atomic<std::uint64_t> pruned_events{0};
  /// The "cap cannot be met" warning was given; cleared once the spool is under the cap.
  std::atomic<bool> cap_unmet_warned{false};
  /// One prune at a time: a concurrent append skips pruning instead of scanning again.
  std::mutex prune_mutex;
  /// Live sessions: pending file name (`safe(id).jsonl`) -> ids of the sessions not yet ended
  /// that write to it (distinct ids can share one safe name). Guarded by live_mutex.
  mutable std::mutex live_mutex;
  std::unordered_map<std::string, std::unordered_set<std::string>> live;

  bool is_protected(const std::string& file_name) {
    std::string pending = pending_name_of(file_name);  // a replayer's claim keeps its session's name
    std::lock_guard<std::mutex> lock(live_mutex);
    return live.count(pending) != 0;
  }
};

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string with_reject_reason(std::string_view json, std::string_view reason) {
  // Every envelope key (contract §1.1) is a lowercase identifier, and '_' sorts before 'a': in
  // the sorted form of an envelope plus the reason, the reason is the first key.
  if (json.size() < 2 || json.front() != '{') return std::string(json);
  std::string out = "{\"_reject_reason\":";
  write_json_string(out, reason);
  if (json != "{}") out += ',';
  out.append(json.substr(1));
  return out;
}

Spool::Spool(std::string dir, std::uint64_t max_bytes, PendingPlace place)
    : dir_(std::move(dir)), max_bytes_(max_bytes), state_(std::make_shared<State>()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  pending_dir_ = place == PendingPlace::outbox ? dir_ + "/" + kOutboxDirName : dir_;
}

int list_jsonl_files(const std::string& dir, std::vector<JsonlFile>& files, bool follow_links) {
  files.clear();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (!ends_with(name, ".jsonl")) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    const int rc = follow_links ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (rc != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back({std::move(name), std::move(path), static_cast<std::uint64_t>(st.st_size), st.st_mtim});
  }
  ::closedir(d);
  return 0;
}

std::string Spool::dead_letter_dir() const { return dir_ + "/" + kDeadLetterDirName; }

std::string Spool::pending_path(std::string_view session_id) const {
  return pending_dir_ + "/" + safe_session_name(session_id) + ".jsonl";
}

namespace {

// Whether the file open at `fd` is still the one at `path`.
bool still_at(int fd, const std::string& path) {
  struct stat opened {}, current {};
  return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &current) == 0 && opened.st_dev == current.st_dev &&
         opened.st_ino == current.st_ino;
}

// The spool files whose lock a thread of this process holds right now (path -> holders). A
// thread that finds a file locked can so tell a writer of its own process, which is only
// writing and lets go when its write is done, from another process (or a replayer's claim),
// which may keep the lock as long as it likes. Locks are taken (flock LOCK_NB) and recorded
// under `mutex`, so a failed attempt while no holder is recorded means someone else has it.
struct LocalHolders {
  std::mutex mutex;
  std::condition_variable released;
  std::unordered_map<std::string, int> count;
};

LocalHolders& local_holders() {
  static LocalHolders* holders = [] {
    auto* h = new LocalHolders;  // leaked: appends may run during exit
    // A forked child must not inherit the mutex locked, nor the parent's holders (its threads).
    pthread_atfork([] { local_holders().mutex.lock(); }, [] { local_holders().mutex.unlock(); },
                   [] {
                     local_holders().count.clear();
                     local_holders().mutex.unlock();
                   });
    return h;
  }();
  return *holders;
}

// Closes the locked file (releasing its lock), then tells the threads of this process waiting
// for it.
void close_locked(int fd, const std::string& path) noexcept {
  ::close(fd);
  try {
    LocalHolders& local = local_holders();
    {
      std::lock_guard<std::mutex> lock(local.mutex);
      auto it = local.count.find(path);
      if (it != local.count.end() && --it->second == 0) local.count.erase(it);
    }
    local.released.notify_all();
  } catch (...) {
  }
}

// Opens `path` for appending and locks it, making sure the locked file is still the one at
// `path`. A replayer claims a file by locking it and renaming it away; lines appended to a file
// after its claim would be lost with it. So a writer that finds its file renamed opens the path
// again (which creates a fresh file once the claim has moved the old one). Release it with
// close_locked().
//
// A file a thread of this process is writing is waited for: that write is short. A file locked
// by anyone else is waited for until `wait` gives up (its deadline passes or its cancel flag is
// set): LockWait::none() makes one attempt. The wait polls flock(LOCK_NB) with sleeps growing
// from 0.5 ms to 10 ms. Not a blocking flock() under a timer: only a signal can cut that short,
// and the worker blocks every signal (the host's handlers and timers are not ours to borrow);
// polling also lets shutdown's interrupt end the wait within one sleep, and never holds up the
// threads of this process that wait for the file.
// Returns -1 on failure (errno EWOULDBLOCK when the lock was not had in time).
int open_locked_for_append(const std::string& path, const LockWait& wait) {
  LocalHolders& local = local_holders();
  // A write of this process holding the file is waited for up to 1 s (or to the wait's deadline,
  // when later): it should take far less, and a stalled file system must not hold callers forever.
  const Clock::time_point local_until = std::max(wait.until.at, Deadline::after(std::chrono::seconds(1)).at);
  auto pause = std::chrono::microseconds(500);
  // A file renamed away between our open and our lock is opened again; a bounded number of
  // times, in case something keeps renaming it.
  for (int reopen = 0; reopen < 200; ++reopen) {
    int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    for (;;) {
      std::unique_lock<std::mutex> lock(local.mutex);
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
        if (!still_at(fd, path)) break;  // claimed and renamed before we had it: open it again
        try {
          ++local.count[path];
        } catch (...) {
          ::close(fd);
          throw;
        }
        return fd;
      }
      const int error = errno;
      if (error != EWOULDBLOCK && error != EINTR) {
        lock.unlock();
        ::close(fd);
        errno = error;
        return -1;
      }
      if (local.count.count(path) != 0 && Clock::now() < local_until) {
        // Held by a thread of this process, which lets go when its write is done.
        local.released.wait_for(lock, std::chrono::milliseconds(10),
                                [&] { return local.count.count(path) == 0; });
        continue;
      }
      lock.unlock();
      if (!still_at(fd, path)) break;  // claimed and renamed while we waited
      const bool cancelled = wait.cancel && wait.cancel->load(std::memory_order_acquire);
      if (cancelled || wait.until.expired()) {
        ::close(fd);
        if (wait.locked_out) *wait.locked_out = true;
        errno = EWOULDBLOCK;
        return -1;
      }
      std::this_thread::sleep_for(std::min<Clock::duration>(pause, wait.until.remaining()));
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(10));
    }
    ::close(fd);
  }
  errno = EWOULDBLOCK;
  return -1;
}

}  // namespace

bool Spool::append_file(const std::string& path, std::string_view data, const LockWait& wait) noexcept {
  try {
    std::size_t slash = path.find_last_of('/');
    if (slash != std::string::npos && !make_private_dirs(path.substr(0, slash))) {
      log_warn("cannot create spool directory for " + path + ": " + std::strerror(errno));
      return false;
    }
    int fd = open_locked_for_append(path, wait);
    if (fd < 0) {
      if (errno == EWOULDBLOCK) {
        log_warn("spool file " + path + " is locked by another process; gave up waiting for it");
      } else {
        log_warn("cannot open spool file " + path + ": " + std::strerror(errno));
      }
      return false;
    }
    struct Locked {  // closes the file (releasing its lock) on every way out
      int fd;
      const std::string& path;
      ~Locked() { close_locked(fd, path); }
    } locked{fd, path};
    std::size_t written = 0;
    while (written < data.size()) {
      ssize_t n = ::write(fd, data.data() + written, data.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        log_warn("cannot write spool file " + path + ": " + std::strerror(errno));
        // Cut back a partial write so the file never ends in a torn line.
        struct stat st {};
        if (written > 0 && ::fstat(fd, &st) == 0) {
          if (::ftruncate(fd, st.st_size - static_cast<off_t>(written)) != 0) {
            log_warn("cannot remove a partial line from " + path);
          }
        }
        return false;
      }
      written += static_cast<std::size_t>(n);
    }
    return true;
  } catch (...) {
    return false;
  }
}

std::uint64_t Spool::pruned_events() const noexcept {
  return state_->pruned_events.load(std::memory_order_relaxed);
}

void Spool::protect(std::string_view session_id) noexcept {
  try {
    std::string name = safe_session_name(session_id) + ".jsonl";
    std::lock_guard<std::mutex> lock(state_->live_mutex);
    auto& ids = state_->live[name];
    if (ids.find(std::string(session_id)) == ids.end()) ids.emplace(session_id);
  } catch (...) {
  }
}

void Spool::release(std::string_view session_id) noexcept {
  try {
    std::string name = safe_session_name(session_id) + ".jsonl";
    {
      std::lock_guard<std::mutex> lock(state_->live_mutex);
      auto it = state_->live.find(name);
      if (it == state_->live.end() || it->second.erase(std::string(session_id)) == 0) return;
      if (it->second.empty()) state_->live.erase(it);
    }
    // Its file may be pruned now: the next append past the cap prunes again.
    state_->prune_at.store(0, std::memory_order_relaxed);
  } catch (...) {
  }
}

bool Spool::is_live(std::string_view session_id) const noexcept {
  try {
    std::string name = safe_session_name(session_id) + ".jsonl";
    std::lock_guard<std::mutex> lock(state_->live_mutex);
    auto it = state_->live.find(name);
    return it != state_->live.end() && it->second.count(std::string(session_id)) != 0;
  } catch (...) {
    return false;
  }
}

bool Spool::append(std::string_view session_id, const std::vector<const EncodedEvent*>& events,
                   bool ends_session, const LockWait& wait) noexcept {
  if (events.empty()) {
    if (ends_session) release(session_id);
    return true;
  }
  // Events say themselves whether they end their session (EncodedEvent::ends_session).
  for (const auto* e : events) ends_session = ends_session || e->ends_session;
  // Live before its lines are written, so that a concurrent prune never deletes them; released
  // only after the last lines are written.
  if (!ends_session) protect(session_id);
  try {
    std::size_t total = 0;
    for (const auto* e : events) total += e->json.size() + 1;
    std::string blob;
    blob.reserve(total);
    for (const auto* e : events) {
      blob += e->json;
      blob += '\n';
    }
    bool ok = append_file(pending_path(session_id), blob, wait);
    if (ends_session) release(session_id);
    if (ok) note_appended(blob.size());
    return ok;
  } catch (...) {
    if (ends_session) release(session_id);
    return false;
  }
}

bool Spool::append(std::string_view session_id, const std::vector<EncodedEvent>& events,
                   bool ends_session, const LockWait& wait) noexcept {
  try {
    std::vector<const EncodedEvent*> ptrs;
    ptrs.reserve(events.size());
    for (const auto& e : events) ptrs.push_back(&e);
    return append(session_id, ptrs, ends_session, wait);
  } catch (...) {
    if (ends_session) release(session_id);
    return false;
  }
}

bool Spool::dead_letter(std::string_view session_id,
                        const std::vector<std::pair<const EncodedEvent*, std::string>>& rejected) noexcept {
  if (rejected.empty()) return true;
  try {
    std::string blob;
    for (const auto& [event, reason] : rejected) {
      blob += with_reject_reason(event->json, reason);
      blob += '\n';
    }
    return append_file(dead_letter_dir() + "/" + safe_session_name(session_id) + ".jsonl", blob);
  } catch (...) {
    return false;
  }
}

void Spool::note_appended(std::uint64_t bytes) noexcept {
  if (max_bytes_ == 0) return;
  State& st = *state_;
  std::uint64_t estimate = st.size_estimate.load(std::memory_order_relaxed);
  if (estimate != State::kUnknown) {
    estimate = st.size_estimate.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    std::uint64_t threshold = std::max(max_bytes_, st.prune_at.load(std::memory_order_relaxed));
    if (estimate <= threshold) return;
  }
  // Another thread pruning right now rescans the directory anyway.
  std::unique_lock<std::mutex> lock(st.prune_mutex, std::try_to_lock);
  if (lock.owns_lock()) prune_locked();
}

std::size_t Spool::prune() noexcept {
  if (max_bytes_ == 0) return 0;
  try {
    std::lock_guard<std::mutex> lock(state_->prune_mutex);
    return prune_locked();
  } catch (...) {
    return 0;
  }
}

namespace {

// Lines in the file open at `fd`: its newlines, plus an unterminated last line. Reads in chunks.
bool count_lines(int fd, std::uint64_t& lines) {
  constexpr std::size_t kChunk = 64 * 1024;
  std::unique_ptr<char[]> buf(new char[kChunk]);
  lines = 0;
  off_t offset = 0;
  char last = '\n';
  for (;;) {
    ssize_t n = ::pread(fd, buf.get(), kChunk, offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) break;
    lines += static_cast<std::uint64_t>(std::count(buf.get(), buf.get() + n, '\n'));
    last = buf[static_cast<std::size_t>(n) - 1];
    offset += n;
  }
  if (last != '\n') ++lines;
  return true;
}

// Bytes of the regular files under `dir`, up to 16 folders deep (symbolic links are not
// followed): the dead letter holds event files at its top and refused artifacts and OTLP
// requests below it.
std::uint64_t bytes_under(const std::string& dir, int depth = 0) {
  constexpr int kMaxDepth = 16;  // the dead letter nests 3 deep; anything deeper is not ours
  std::uint64_t total = 0;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return 0;
  while (dirent* entry = ::readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISREG(st.st_mode)) total += static_cast<std::uint64_t>(st.st_size);
    else if (S_ISDIR(st.st_mode) && depth < kMaxDepth) total += bytes_under(path, depth + 1);
  }
  ::closedir(d);
  return total;
}

}  // namespace

std::size_t Spool::prune_locked() noexcept {
  if (max_bytes_ == 0) return 0;
  State& st = *state_;
  try {
    std::vector<JsonlFile> pending, outbox;
    list_jsonl_files(dir_, pending);
    list_jsonl_files(dir_ + "/" + kOutboxDirName, outbox);
    pending.insert(pending.end(), std::make_move_iterator(outbox.begin()), std::make_move_iterator(outbox.end()));
    std::uint64_t total = 0;
    const std::uint64_t dead_bytes = bytes_under(dead_letter_dir());
    for (const auto& f : pending) total += f.size;
    total += dead_bytes;
    st.size_estimate.store(total, std::memory_order_relaxed);
    if (total <= max_bytes_) {
      st.prune_at.store(0, std::memory_order_relaxed);
      st.cap_unmet_warned.store(false, std::memory_order_relaxed);
      return 0;
    }
    std::sort(pending.begin(), pending.end(), [](const JsonlFile& a, const JsonlFile& b) {
      if (a.mtime.tv_sec != b.mtime.tv_sec) return a.mtime.tv_sec < b.mtime.tv_sec;
      return a.mtime.tv_nsec < b.mtime.tv_nsec;
    });
    std::size_t deleted = 0;
    std::uint64_t events = 0;
    std::uint64_t live_bytes = 0;    // files of live sessions, kept
    std::uint64_t in_use_bytes = 0;  // files locked by a writer or a replayer, kept
    for (const auto& f : pending) {
      if (total <= max_bytes_) break;
      const std::string& name = f.name;
      if (st.is_protected(name)) {
        live_bytes += f.size;
        continue;
      }
      int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0) {
        if (errno == ENOENT) total -= f.size;  // gone meanwhile (replayed)
        continue;
      }
      // Locked by a writer or a replayer: in use, leave it. Lines are only ever written under
      // this lock, so while we hold it the count below is exactly what the unlink removes.
      if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        in_use_bytes += f.size;
        ::close(fd);
        continue;
      }
      // Only the inode still linked at the path may go: a replayer may have claimed (renamed)
      // this one between our listing and our lock, and a writer re-created the path.
      struct stat held {}, now {};
      bool same = ::fstat(fd, &held) == 0 && ::lstat(f.path.c_str(), &now) == 0 &&
                  held.st_dev == now.st_dev && held.st_ino == now.st_ino;
      // A session may have started writing to this name since the check above.
      if (!same || st.is_protected(name)) {
        if (same) live_bytes += f.size;
        ::close(fd);
        continue;
      }
      std::uint64_t lines = 0;
      if (!count_lines(fd, lines)) {
        log_warn("cannot read spool file " + f.path + " to prune it: " + std::strerror(errno));
        ::close(fd);
        continue;
      }
      if (::unlink(f.path.c_str()) == 0) {
        st.pruned_events.fetch_add(lines, std::memory_order_relaxed);
        total -= f.size;
        events += lines;
        ++deleted;
      }
      ::close(fd);
    }
    st.size_estimate.store(total, std::memory_order_relaxed);
    if (deleted > 0) {
      log_warn("spool over its size cap of " + std::to_string(max_bytes_) + " bytes: pruned " +
               std::to_string(events) + " event(s) in " + std::to_string(deleted) +
               " oldest file(s) of ended sessions in " + dir_ + " (counted as dropped_spool_cap)");
    }
    if (total > max_bytes_) {
      // Only live, in-use or dead-letter data is left: keep it, and scan again only once the
      // spool has grown by a further quarter of the cap (or a session ends).
      st.prune_at.store(total + std::max<std::uint64_t>(max_bytes_ / 4, 1), std::memory_order_relaxed);
      if (!st.cap_unmet_warned.exchange(true, std::memory_order_relaxed)) {
        log_warn("spool size cap of " + std::to_string(max_bytes_) + " bytes cannot be met in " + dir_ +
                 ": live sessions hold " + std::to_string(live_bytes) + " bytes, files in use by a writer or " +
                 "replayer " + std::to_string(in_use_bytes) + " bytes and the dead letter " +
                 std::to_string(dead_bytes) + " bytes; keeping them");
      }
    } else {
      st.prune_at.store(0, std::memory_order_relaxed);
      st.cap_unmet_warned.store(false, std::memory_order_relaxed);
    }
    return deleted;
  } catch (...) {
    return 0;
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
