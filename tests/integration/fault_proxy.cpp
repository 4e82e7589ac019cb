#include "fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace promptetheus::testing {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string gunzip(const std::string& in) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return {};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return rc == Z_STREAM_END ? out : std::string();
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Reads until `need` bytes are buffered or the peer/stop ends the connection.
bool fill(int fd, std::string& buf, std::size_t need, const std::atomic<bool>& stopping) {
  char tmp[65536];
  while (buf.size() < need) {
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (stopping.load()) return false;
    if (r <= 0) continue;
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
  }
  return true;
}

void send_all(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<std::size_t>(n);
  }
}

const char* reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Status";
  }
}

}  // namespace

std::uint64_t count_events_fast(const std::string& body) {
  auto start = body.find('[');
  if (start == std::string::npos) return 0;
  std::uint64_t count = 0;
  int depth = 0;
  bool in_string = false, any = false;
  for (std::size_t i = start + 1; i < body.size(); ++i) {
    char c = body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      any = true;
    } else if (c == '{' || c == '[') {
      ++depth;
      any = true;
    } else if (c == '}' || c == ']') {
      if (depth == 0) break;
      --depth;
    } else if (c == ',' && depth == 0) {
      ++count;
    } else if (c != ' ' && c != '\n') {
      any = true;
    }
  }
  return any ? count + 1 : 0;
}

FaultServer::FaultServer(bool count_only, bool record) : count_only_(count_only), record_(record) {
  start();
}

FaultServer::~FaultServer() { stop(); }

void FaultServer::start() {
  if (listen_fd_ >= 0) return;
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0) {
    ::close(fd);
    throw std::runtime_error("fault server: cannot listen: " + std::string(std::strerror(errno)));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
  stopping_ = false;
  acceptor_ = std::thread([this, fd] { accept_loop(fd); });
}

void FaultServer::stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int c : connections_) ::shutdown(c, SHUT_RDWR);
    workers.swap(workers_);
  }
  hang_cv_.notify_all();
  for (auto& t : workers) t.join();
}

void FaultServer::accept_loop(int listen_fd) {
  while (!stopping_) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int c = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    int one = 1;
    ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard<std::mutex> lock(mu_);
    connections_.push_back(c);
    workers_.emplace_back([this, c] { serve(c); });
  }
}

void FaultServer::serve(int fd) {
  std::string buf;
  bool keep_alive = true;
  while (keep_alive && !stopping_) {
    std::size_t header_end;
    while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(fd, buf, buf.size() + 1, stopping_)) goto done;
    }
    {
      RecordedRequest req;
      req.at = std::chrono::steady_clock::now();
      std::string head = buf.substr(0, header_end);
      buf.erase(0, header_end + 4);
      std::size_t line_end = head.find("\r\n");
      std::string request_line = head.substr(0, line_end);
      auto sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
      req.method = request_line.substr(0, sp1);
      req.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        auto end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        std::string h = head.substr(pos, end - pos);
        auto colon = h.find(':');
        if (colon != std::string::npos) {
          std::string value = h.substr(colon + 1);
          value.erase(0, value.find_first_not_of(' '));
          req.headers[lower(h.substr(0, colon))] = value;
        }
        pos = end + 2;
      }
      std::size_t length = 0;
      if (req.headers.count("content-length")) length = std::stoul(req.headers["content-length"]);
      if (!fill(fd, buf, length, stopping_)) break;
      req.raw_body = buf.substr(0, length);
      buf.erase(0, length);
      req.body = lower(req.header("content-encoding")).find("gzip") != std::string::npos
                     ? gunzip(req.raw_body)
                     : req.raw_body;
      if (lower(req.header("connection")) == "close") keep_alive = false;
      if (!handle(fd, req, keep_alive)) break;
    }
  }
done:
  std::lock_guard<std::mutex> lock(mu_);
  connections_.erase(std::remove(connections_.begin(), connections_.end(), fd), connections_.end());
  ::close(fd);
}

bool FaultServer::handle(int fd, RecordedRequest& req, bool& keep_alive) {
  std::optional<Fault> fault;
  FaultHook hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    req.index = next_index_++;
    hook = fault_;
  }
  if (hook) fault = hook(req);
  if (record_) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(req);
  }
  if (fault && fault->kind == Fault::Kind::close) return false;
  if (fault && fault->kind == Fault::Kind::hang) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_.load()) hang_cv_.wait_for(lock, std::chrono::milliseconds(50));
    return false;
  }
  int status;
  std::string body;
  std::vector<std::pair<std::string, std::string>> extra;
  if (fault) {
    status = fault->status;
    body = fault->body;
    extra = fault->headers;
  } else {
    std::tie(status, body) = answer(req);
  }
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) + "\r\n";
  out += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (auto& [k, v] : extra) out += k + ": " + v + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n" + body;
  send_all(fd, out);
  return keep_alive;
}

std::pair<int, std::string> FaultServer::answer(const RecordedRequest& req) {
  if (req.method != "POST") return {405, R"({"detail":"method not allowed"})"};
  if (req.target == "/v1/traces") return {200, "{}"};  // an OTLP/HTTP receiver that takes every span
  if (req.target == "/api/traces") {
    auto doc = nlohmann::json::parse(req.body, nullptr, false);
    if (!doc.is_object()) return {400, R"({"detail":"malformed JSON body"})"};
    std::string id = doc.value("id", std::string("sess_minted"));
    std::lock_guard<std::mutex> lock(mu_);
    traces_[id] = doc;
    return {201, nlohmann::json{{"trace", doc}}.dump()};
  }
  const std::string prefix = "/api/traces/", suffix = "/events";
  if (req.target.rfind(prefix, 0) != 0 || req.target.size() <= prefix.size() + suffix.size() ||
      req.target.compare(req.target.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return {404, R"({"detail":"not found"})"};
  }
  std::string segment = req.target.substr(prefix.size(), req.target.size() - prefix.size() - suffix.size());
  if (segment.find('/') != std::string::npos || segment.find('?') != std::string::npos ||
      segment.find('#') != std::string::npos) {
    return {404, R"({"detail":"not found"})"};
  }
  if (count_only_) {
    auto n = count_events_fast(req.body);
    counted_ += n;
    return {200, R"({"accepted":)" + std::to_string(n) + R"(,"rejected":[]})"};
  }
  const std::string session = percent_decode(segment);
  auto doc = nlohmann::json::parse(req.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("events") || !doc["events"].is_array()) {
    return {400, R"({"detail":"malformed JSON body"})"};
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!traces_.count(session)) {
    ++not_found_;
    return {404, R"({"detail":"trace not found"})"};
  }
  std::size_t accepted = 0;
  nlohmann::json rejected = nlohmann::json::array();
  auto& stored = events_[session];
  for (std::size_t i = 0; i < doc["events"].size(); ++i) {
    auto ev = doc["events"][i];
    std::string key = ev.is_object() ? ev.value("idempotency_key", std::string()) : std::string();
    auto reject = reject_.find(key);
    if (!ev.is_object() || key.empty() || reject != reject_.end()) {
      nlohmann::json entry{{"index", i},
                           {"reason", reject != reject_.end() ? reject->second : "invalid event"}};
      if (!key.empty()) entry["idempotency_key"] = key;
      rejected.push_back(entry);
      continue;
    }
    ev["session_id"] = session;
    stored.emplace(key, ev);  // a duplicate key counts as accepted and is not stored again
    ++accepted;
  }
  return {200, nlohmann::json{{"accepted", accepted}, {"rejected", rejected}}.dump()};
}

void FaultServer::set_fault(FaultHook hook) {
  std::lock_guard<std::mutex> lock(mu_);
  fault_ = std::move(hook);
}

void FaultServer::reject_keys(std::map<std::string, std::string> key_to_reason) {
  std::lock_guard<std::mutex> lock(mu_);
  reject_ = std::move(key_to_reason);
}

void FaultServer::forget_everything() {
  std::lock_guard<std::mutex> lock(mu_);
  traces_.clear();
  events_.clear();
}

std::vector<RecordedRequest> FaultServer::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<nlohmann::json> FaultServer::stored_events(const std::string& session) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<nlohmann::json> out;
  auto it = events_.find(session);
  if (it == events_.end()) return out;
  for (auto& [key, ev] : it->second) out.push_back(ev);
  std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("seq", 0) < b.value("seq", 0);
  });
  return out;
}

std::set<std::string> FaultServer::traces() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> out;
  for (auto& [id, body] : traces_) out.insert(id);
  return out;
}

std::map<std::string, nlohmann::json> FaultServer::trace_bodies() const {
  std::lock_guard<std::mutex> lock(mu_);
  return traces_;
}

std::size_t FaultServer::stored_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (auto& [sid, evs] : events_) n += evs.size();
  return n;
}

std::size_t FaultServer::trace_not_found_count() const {
  std::lock_guard<std::mutex> lock(mu_);
  return not_found_;
}

}  // namespace promptetheus::testing
