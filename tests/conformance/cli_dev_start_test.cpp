// `promptetheus dev` start-up as a user meets it: a busy port is an error with its reason and exit
// code 1 (no usage text), listening beyond loopback warns that the dev credentials are public;
// and `export --out` writes a private file, like the spool it reads.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "conformance/subprocess.hpp"

namespace {

using promptetheus::test::run_process;
using promptetheus::test::TempDir;

// A port held by a listening loopback socket for the object's lifetime.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(fd_, 4) == 0 && ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~BusyPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  BusyPort(const BusyPort&) = delete;
  BusyPort& operator=(const BusyPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST_CASE("dev on a busy port exits 1 with its reason, without usage text", "[conformance][cli][dev]") {
  BusyPort busy;
  REQUIRE(busy.port() > 0);
  TempDir dir;
  const std::string port = std::to_string(busy.port());
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"dev", "--port", port, "--data-dir", dir.path() + "/data"},
                             dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.err == "promptetheus dev: port " + port + " is in use (is another promptetheus dev running?)\n");
  CHECK(r.out.empty());
}

TEST_CASE("dev listening beyond loopback warns that the dev credentials are public", "[conformance][cli][dev]") {
  BusyPort busy;  // so that the server stops right after the warning
  REQUIRE(busy.port() > 0);
  TempDir dir;
  const auto r = run_process(PROMPTETHEUS_CLI_PATH,
                             {"dev", "--host", "0.0.0.0", "--port", std::to_string(busy.port()), "--data-dir",
                              dir.path() + "/data"},
                             dir.path());
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("promptetheus dev: warning: listening on 0.0.0.0, beyond this machine: the dev API key and "
                    "console token are public defaults",
                    0) == 0);
}

TEST_CASE("export --out writes a private file", "[conformance][cli]") {
  TempDir dir;
  REQUIRE(run_process("/bin/mkdir", {"-p", dir.path() + "/spool"}, "").exit_code == 0);
  REQUIRE(run_process("/bin/sh",
                      {"-c", "printf '%s\\n' '{\"idempotency_key\":\"s:n:0\",\"payload\":{\"content\":\"hi\"},\"seq\":0,"
                             "\"session_id\":\"s\",\"timestamp\":\"2024-01-01T00:00:00.000000Z\",\"type\":"
                             "\"user_message\"}' > spool/s.jsonl"},
                      dir.path())
              .exit_code == 0);
  const auto r = run_process(PROMPTETHEUS_CLI_PATH, {"export", "s", "--dir", "spool", "--out", "s.json"}, dir.path());
  REQUIRE(r.exit_code == 0);
  struct stat st {};
  REQUIRE(::stat((dir.path() + "/s.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
}
