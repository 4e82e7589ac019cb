// `promptetheus dev` started as a child process on a free loopback port, for the tests of the
// commands that read runs from a server (--api).
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "conformance/subprocess.hpp"

namespace promptetheus::test {

inline int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

/// `promptetheus dev` on a free loopback port, stopped when destroyed.
class DevServer {
 public:
  explicit DevServer(const std::string& data_dir) : port_(free_port()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string port = std::to_string(port_);
      execl(PROMPTETHEUS_CLI_PATH, PROMPTETHEUS_CLI_PATH, "dev", "--port", port.c_str(), "--data-dir",
            data_dir.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when the doctor's health check passes.
    for (int i = 0; i < 100 && !ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ~DevServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  bool ready() const {
    const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"doctor"}, "/tmp",
                               {"PROMPTETHEUS_API_KEY=pt_dev_key", "PROMPTETHEUS_API_URL=" + url()});
    return r.exit_code == 0;
  }

 private:
  int port_;
  pid_t pid_ = -1;
};

}  // namespace promptetheus::test
