// Measurement tools shared by the SDK benchmarks: a calibrated TSC clock, per-call latency
// recording, percentiles, a scratch directory, a start line for producer threads, and a
// reporter that prints the median of repeated runs next to the targets.
#pragma once

#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

namespace promptetheus_bench {

// ---------------------------------------------------------------------------------------------
// TSC clock. The machines are x86-64 with constant_tsc/nonstop_tsc, so the time-stamp counter
// ticks at a fixed rate on every core. One read is ~20-30 cycles (vs ~20 ns for steady_clock
// through the vDSO), small enough to time single calls of ~100 ns; the cost of a read is measured
// and subtracted.
// ---------------------------------------------------------------------------------------------
inline std::uint64_t tsc_now() noexcept {
  _mm_lfence();  // do not let the read drift ahead of the work before it
  std::uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

struct TscCalibration {
  double ticks_per_ns = 1.0;
  double read_overhead_ticks = 0.0;  // the cost of one tsc_now(), median of many back-to-back reads
};

inline TscCalibration calibrate_tsc() {
  TscCalibration cal;
  // Rate: five 20 ms windows against steady_clock; the median resists a preempted window.
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) {
    auto c0 = std::chrono::steady_clock::now();
    std::uint64_t t0 = tsc_now();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto c1 = std::chrono::steady_clock::now();
    std::uint64_t t1 = tsc_now();
    double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(c1 - c0).count());
    rates.push_back(static_cast<double>(t1 - t0) / ns);
  }
  std::sort(rates.begin(), rates.end());
  cal.ticks_per_ns = rates[rates.size() / 2];
  // Overhead: the gap between two consecutive reads.
  std::vector<std::uint64_t> gaps(20000);
  for (auto& g : gaps) {
    std::uint64_t a = tsc_now();
    std::uint64_t b = tsc_now();
    g = b - a;
  }
  std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
  cal.read_overhead_ticks = static_cast<double>(gaps[gaps.size() / 2]);
  return cal;
}

inline const TscCalibration& tsc() {
  static const TscCalibration cal = calibrate_tsc();
  return cal;
}

// ---------------------------------------------------------------------------------------------
// Per-call latency. A producer times batches of kBatch calls, reading the TSC before the batch
// and after every call (kBatch + 1 reads). That yields two views of the same calls:
//   - per call: the gap between consecutive reads minus one read's cost -> p50/p99/p99.9;
//   - per batch: (last - first) / kBatch minus one read's cost -> the mean cost inside a batch,
//     which hides single-call outliers but has no per-read rounding.
// ---------------------------------------------------------------------------------------------
inline constexpr int kBatch = 64;

class LatencyRecorder {
 public:
  void reserve(std::size_t batches) {
    per_call_.reserve(batches * kBatch);
    per_batch_.reserve(batches);
  }
  // `stamps` holds kBatch + 1 TSC reads.
  void add_batch(const std::uint64_t* stamps) {
    const double overhead = tsc().read_overhead_ticks;
    for (int i = 0; i < kBatch; ++i) {
      per_call_.push_back(std::max(0.0, static_cast<double>(stamps[i + 1] - stamps[i]) - overhead));
    }
    per_batch_.push_back(std::max(0.0, static_cast<double>(stamps[kBatch] - stamps[0]) / kBatch - overhead));
  }
  void merge(const LatencyRecorder& other) {
    per_call_.insert(per_call_.end(), other.per_call_.begin(), other.per_call_.end());
    per_batch_.insert(per_batch_.end(), other.per_batch_.begin(), other.per_batch_.end());
  }
  std::size_t calls() const { return per_call_.size(); }

  // Percentile q in [0,1] of the per-call cost, in nanoseconds.
  double call_ns(double q) { return percentile(per_call_, q) / tsc().ticks_per_ns; }
  double batch_ns(double q) { return percentile(per_batch_, q) / tsc().ticks_per_ns; }
  double mean_call_ns() const {
    if (per_call_.empty()) return 0;
    double sum = 0;
    for (double v : per_call_) sum += v;
    return sum / static_cast<double>(per_call_.size()) / tsc().ticks_per_ns;
  }

 private:
  static double percentile(std::vector<double>& values, double q) {
    if (values.empty()) return 0;
    std::size_t k = std::min(values.size() - 1, static_cast<std::size_t>(q * static_cast<double>(values.size())));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
  }
  std::vector<double> per_call_;
  std::vector<double> per_batch_;
};

// Puts the percentiles of `recorder` into the benchmark's counters.
inline void report_latency(benchmark::State& state, LatencyRecorder& recorder) {
  state.counters["p50_ns"] = recorder.call_ns(0.50);
  state.counters["p99_ns"] = recorder.call_ns(0.99);
  state.counters["p999_ns"] = recorder.call_ns(0.999);
  state.counters["mean_ns"] = recorder.mean_call_ns();
  state.counters["batch_p50_ns"] = recorder.batch_ns(0.50);
  state.counters["batch_p99_ns"] = recorder.batch_ns(0.99);
  state.counters["calls"] = static_cast<double>(recorder.calls());
}

// ---------------------------------------------------------------------------------------------
// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
// ---------------------------------------------------------------------------------------------
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/promptetheus-bench-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data())) path_ = buf.data();
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Lines ('\n') in every *.jsonl file directly under `dir`, and the number of such files.
struct LineCount {
  std::uint64_t lines = 0;
  std::uint64_t files = 0;
};
inline LineCount count_jsonl_lines(const std::string& dir) {
  LineCount count;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".jsonl") continue;
    ++count.files;
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      count.lines += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + in.gcount(), '\n'));
    }
  }
  return count;
}

inline std::uint64_t count_file_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  std::uint64_t lines = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    lines += static_cast<std::uint64_t>(std::count(buf.data(), buf.data() + in.gcount(), '\n'));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Start line: producers announce they are ready and spin until the coordinator says go, so that
// they start together and thread creation is not timed.
// ---------------------------------------------------------------------------------------------
class StartLine {
 public:
  void ready() { ready_.fetch_add(1, std::memory_order_acq_rel); }
  void wait_for_go() const {
    while (!go_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  void wait_until_ready(int n) const {
    while (ready_.load(std::memory_order_acquire) < n) std::this_thread::yield();
  }
  void go() { go_.store(true, std::memory_order_release); }

 private:
  std::atomic<int> ready_{0};
  std::atomic<bool> go_{false};
};

// CPU time (ns) consumed so far by this process's threads named `name` (their /proc comm). Lets a
// throughput figure be split into "how long it took on this box" and "how much CPU the draining
// thread needed per event", which a loaded machine distorts far less. The per-thread CPU clock
// of another thread of the process is addressed by its tid the way glibc's pthread_getcpuclockid
// builds it (Linux: ~tid << 3 | CPUCLOCK_PERTHREAD | CPUCLOCK_SCHED).
// Calls fn(path of /proc/self/task/<tid>) for every thread of this process named `name`.
template <class Fn>
void for_each_thread_named(const std::string& name, Fn fn) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    std::getline(comm, line);
    if (line == name) fn(task.path());
  }
}

inline std::uint64_t thread_cpu_ns(const std::string& name) {
  std::uint64_t total = 0;
  for_each_thread_named(name, [&](const std::filesystem::path& task) {
    const long tid = std::strtol(task.filename().c_str(), nullptr, 10);
    const clockid_t clock = static_cast<clockid_t>((~static_cast<unsigned long>(tid) << 3) | 6);
    timespec ts{};
    if (clock_gettime(clock, &ts) == 0) {
      total += static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
    }
  });
  return total;
}

// CPU time (ns) of the whole process so far.
inline std::uint64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<std::uint64_t>(ts.tv_nsec);
}

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---------------------------------------------------------------------------------------------
// Summary: the console output as usual, plus, at the end, the median (and range) over the
// repetitions of every counter that matters, next to its target.
// ---------------------------------------------------------------------------------------------
struct Target {
  const char* benchmark;  // benchmark name prefix
  const char* counter;
  const char* relation;   // "<=" or ">="
  double value;
};

class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(std::vector<std::string> shown, std::vector<Target> targets)
      : shown_(std::move(shown)), targets_(std::move(targets)) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      auto& per_counter = values_[run.benchmark_name()];
      for (const auto& [name, counter] : run.counters) per_counter[name].push_back(counter.value);
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void print_summary(std::FILE* out, const std::string& load_before, const std::string& load_after) const {
    std::fprintf(out, "\nSummary: median of runs [min .. max], %s\n", "one line per benchmark");
    std::fprintf(out, "load average before: %s   after: %s   (%u cores)\n", load_before.c_str(),
                 load_after.c_str(), std::thread::hardware_concurrency());
    for (const auto& [bench, counters] : values_) {
      std::fprintf(out, "%s\n", bench.c_str());
      for (const auto& name : shown_) {
        auto it = counters.find(name);
        if (it == counters.end()) continue;
        std::vector<double> v = it->second;
        std::sort(v.begin(), v.end());
        double median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
        std::string verdict;
        for (const auto& t : targets_) {
          if (bench.rfind(t.benchmark, 0) != 0 || name != t.counter) continue;
          bool met = t.relation[0] == '<' ? median <= t.value : median >= t.value;
          char buf[96];
          std::snprintf(buf, sizeof buf, "   target %s %s: %s", t.relation, human(t.value).c_str(),
                        met ? "met" : "MISSED");
          verdict = buf;
        }
        std::fprintf(out, "  %-14s %12s  [%s .. %s] n=%zu%s\n", name.c_str(), human(median).c_str(),
                     human(v.front()).c_str(), human(v.back()).c_str(), v.size(), verdict.c_str());
      }
    }
  }

 private:
  static std::string human(double v) {
    char buf[32];
    if (std::fabs(v) >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", v / 1e6);
    else if (std::fabs(v) >= 1e4) std::snprintf(buf, sizeof buf, "%.1fk", v / 1e3);
    else std::snprintf(buf, sizeof buf, "%.1f", v);
    return buf;
  }

  std::vector<std::string> shown_;
  std::vector<Target> targets_;
  std::map<std::string, std::map<std::string, std::vector<double>>> values_;
};

}  // namespace promptetheus_bench
