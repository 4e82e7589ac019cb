#include "promptetheus/testing.hpp"

#include <algorithm>
#include <chrono>

#include "transport/memory_transport.hpp"

namespace promptetheus {
inline namespace v0 {
namespace testing {

CaptureSession::CaptureSession(SessionOptions options) noexcept : CaptureSession(std::move(options), Options{}) {}

CaptureSession::CaptureSession(SessionOptions options, Options client_options) noexcept {
  try {
    store_ = std::make_shared<detail::MemoryStore>();
    client_options.transport_factory = [store = store_] { return std::make_unique<detail::MemoryTransport>(store); };
    client_options.overflow_to_spool = false;
    client_options.flush_at_exit = false;
    client_ = std::make_unique<Client>(std::move(client_options));
    if (options.agent.empty()) options.agent = "test-agent";
    if (options.user_goal.empty()) options.user_goal = "test goal";
    options.client = client_.get();
    session_ = std::make_unique<Session>(std::move(options));
  } catch (...) {
  }
}

CaptureSession::~CaptureSession() {
  session_.reset();  // records session_end unless already ended
  if (client_) (void)client_->shutdown(std::chrono::seconds(5));
  client_.reset();
}

std::vector<nlohmann::json> CaptureSession::events() const {
  std::vector<nlohmann::json> out;
  if (!client_ || !store_) return out;
  (void)client_->flush(std::chrono::seconds(5));
  for (const auto& e : store_->events()) {
    out.push_back(nlohmann::json::parse(e.json, nullptr, /*allow_exceptions=*/false));
  }
  std::stable_sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a.value("seq", 0) < b.value("seq", 0);
  });
  return out;
}

std::vector<std::string> CaptureSession::types() const {
  std::vector<std::string> out;
  for (const auto& e : events()) out.push_back(e.value("type", ""));
  return out;
}

std::vector<nlohmann::json> CaptureSession::of_type(const std::string& type) const {
  std::vector<nlohmann::json> out;
  for (auto& e : events()) {
    if (e.value("type", "") == type) out.push_back(std::move(e));
  }
  return out;
}

std::size_t CaptureSession::count(const std::string& type) const { return of_type(type).size(); }

std::optional<nlohmann::json> CaptureSession::last(const std::string& type) const {
  auto matching = of_type(type);
  if (matching.empty()) return std::nullopt;
  return matching.back();
}

}  // namespace testing
}  // namespace v0
}  // namespace promptetheus
