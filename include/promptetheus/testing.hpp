// Testing support for users' own unit tests (contract §2.10): a real Session recording into
// memory, with a synchronous view of its events.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "promptetheus/client.hpp"
#include "promptetheus/export.hpp"
#include "promptetheus/session.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
class MemoryStore;
PROMPTETHEUS_END_DETAIL_NAMESPACE

PROMPTETHEUS_BEGIN_NAMESPACE

namespace testing {

/// Opens a Session (agent "test-agent", goal "test goal" unless given) on a private client with
/// the memory transport, and makes it current on this thread. Its events are the exact envelopes
/// the spool would hold. Not thread-safe itself (the session's helpers are). Destruction records
/// session_end if end() was not called, then releases the private client (its worker thread
/// and transport).
class PROMPTETHEUS_API CaptureSession {
 public:
  explicit CaptureSession(SessionOptions options = {}) noexcept;
  /// The same, on a client with `client_options` (its policy: redaction and sampling; the
  /// transport is always the memory one, and nothing spills or flushes at exit).
  CaptureSession(SessionOptions options, Options client_options) noexcept;
  ~CaptureSession();
  CaptureSession(const CaptureSession&) = delete;
  CaptureSession& operator=(const CaptureSession&) = delete;

  Session& session() noexcept { return *session_; }
  const Session* operator->() const noexcept { return session_.get(); }

  /// Every event recorded so far, in seq order (waits for the worker, up to 5 s).
  std::vector<nlohmann::json> events() const;
  std::vector<std::string> types() const;
  std::vector<nlohmann::json> of_type(const std::string& type) const;
  std::size_t count(const std::string& type) const;
  std::optional<nlohmann::json> last(const std::string& type) const;
  std::size_t size() const { return events().size(); }
  /// Client counters (drops, queue).
  Stats stats() const noexcept { return client_->stats(); }

 private:
  std::shared_ptr<detail::MemoryStore> store_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<Session> session_;
};

}  // namespace testing

PROMPTETHEUS_END_NAMESPACE
