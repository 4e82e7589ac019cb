// Times `promptetheus mcp` as a coding agent uses it: from spawning the server to its answer to
// `initialize` (target ≤ 50 ms), and `get_failure_context` on a session of 100,000 events
// (target ≤ 300 ms, the server reading and analysing the spool file on each call).
//
// usage: mcp_bench [promptetheus binary] [events, default 100000]
// The binary defaults to <this program's dir>/../bin/promptetheus; the session is recorded with
// bench/cli_session_generator, built next to this program. Reports medians; asserts nothing.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// A running `promptetheus mcp` with pipes to its stdin and stdout.
class Server {
 public:
  Server(const std::string& cli, const std::string& dir) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[1]);
      close(out[0]);
      const int null = open("/dev/null", O_WRONLY);
      if (null >= 0) dup2(null, 2);
      execl(cli.c_str(), cli.c_str(), "mcp", "--dir", dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    to_ = in[1];
    from_ = out[0];
  }
  ~Server() {
    close(to_);  // end of input: the server exits 0
    int status = 0;
    waitpid(pid_, &status, 0);
    close(from_);
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Sends one request line and reads the response line.
  std::string ask(const std::string& line) {
    const std::string message = line + "\n";
    if (write(to_, message.data(), message.size()) != static_cast<ssize_t>(message.size())) return "";
    std::string response;
    char c;
    while (read(from_, &c, 1) == 1 && c != '\n') response.push_back(c);
    return response;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

const char* const kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"bench","version":"1"}}})";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void report(const char* what, const std::vector<double>& ms, double target) {
  const double m = median(ms);
  std::printf("%-44s median %8.2f ms  min %8.2f  max %8.2f  (%zu runs)  target <= %.0f ms: %s\n", what, m,
              *std::min_element(ms.begin(), ms.end()), *std::max_element(ms.begin(), ms.end()), ms.size(), target,
              m <= target ? "met" : "MISSED");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string here = directory_of(argv[0]);
  const std::string cli = argc > 1 ? argv[1] : here + "/../bin/promptetheus";
  const std::string events = argc > 2 ? argv[2] : "100000";
  if (access(cli.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "mcp_bench: no CLI at %s (build promptetheus_cli, or pass its path)\n", cli.c_str());
    return 1;
  }
  char tmpl[] = "/tmp/promptetheus-mcp-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;

  const std::string generate = "'" + here + "/cli_session_generator' '" + dir + "' " + events + " >/dev/null";
  if (std::system(generate.c_str()) != 0) {
    std::fprintf(stderr, "mcp_bench: could not record the session (%s)\n", generate.c_str());
    return 1;
  }

  std::vector<double> startup;
  for (int i = 0; i < 21; ++i) {
    const auto start = Clock::now();
    Server server(cli, dir);
    const std::string response = server.ask(kInitialize);
    startup.push_back(ms_since(start));
    if (response.find("\"protocolVersion\"") == std::string::npos) {
      std::fprintf(stderr, "mcp_bench: unexpected initialize response: %s\n", response.c_str());
      return 1;
    }
  }
  report("spawn to initialize response", startup, 50);

  std::vector<double> context;
  {
    Server server(cli, dir);
    server.ask(kInitialize);
    const std::string request =
        R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_failure_context","arguments":{"session_id":"bench_large"}}})";
    for (int i = 0; i < 11; ++i) {
      const auto start = Clock::now();
      const std::string response = server.ask(request);
      context.push_back(ms_since(start));
      if (response.find("failed_tool_calls") == std::string::npos || response.find("\"isError\"") != std::string::npos) {
        std::fprintf(stderr, "mcp_bench: unexpected get_failure_context response: %.300s\n", response.c_str());
        return 1;
      }
      if (i == 0) std::printf("get_failure_context response: %zu bytes\n", response.size());
    }
  }
  report(("get_failure_context, " + events + " events").c_str(), context, 300);

  const std::string cleanup = "rm -rf '" + dir + "'";
  return std::system(cleanup.c_str()) == 0 ? 0 : 1;
}
