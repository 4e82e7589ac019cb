#include "promptetheus/client.hpp"

#include <mutex>

#include "client/delivery_assembly.hpp"
#include "core/log.hpp"
#include "core/log_sink.hpp"
#include "core/pipeline.hpp"
#include "core/registry.hpp"

namespace promptetheus {
inline namespace v0 {
namespace {

// Options::log_handler / log_level apply process-wide (the SDK has one diagnostics stream).
void apply_logging(const Options& options) {
  detail::LogHandler handler;
  if (options.log_handler) {
    auto user = options.log_handler;
    handler = [user](detail::Level level, std::string_view message) {
      user(static_cast<LogLevel>(static_cast<int>(level)), message);
    };
  }
  int level = static_cast<int>(options.log_level);
  detail::set_log_handler(std::move(handler), static_cast<detail::Level>(level > 3 ? 4 : level));
}

}  // namespace

Client::Client(Options options) noexcept {
  Status status;
  try {
    if (options.log_handler || options.log_level != LogLevel::warn) apply_logging(options);
    pipeline_ = detail::Pipeline::create(std::move(options), detail::assemble_delivery, status);
    status_ = std::make_shared<Status>(std::move(status));
  } catch (...) {
    // Out of memory keeping the status: without it status() would say ok, so a pipeline whose
    // status is not ok (an inert one, whose worker could not start) is not kept either.
    if (pipeline_ && !status.ok()) {
      (void)pipeline_->shutdown(std::chrono::milliseconds(0));
      pipeline_.reset();
    }
    if (!pipeline_) detail::log_error("cannot create the client; it records nothing");
  }
}

Client::~Client() {
  if (pipeline_) (void)pipeline_->shutdown(pipeline_->options().shutdown_timeout);
  // pipeline_ is released with the client; the worker has already let go of the transport.
}

Status Client::status() const noexcept {
  try {
    if (!pipeline_) return Status(ErrorCode::internal, "the client could not be created");
    return status_ ? *status_ : Status{};
  } catch (...) {
    // No memory for the message: the code alone.
    return Status(pipeline_ ? (status_ ? status_->code() : ErrorCode::ok) : ErrorCode::internal, std::string());
  }
}

bool Client::flush(std::chrono::milliseconds timeout) noexcept { return !pipeline_ || pipeline_->flush(timeout); }

bool Client::shutdown(std::chrono::milliseconds timeout) noexcept {
  return !pipeline_ || pipeline_->shutdown(timeout);
}

Stats Client::stats() const noexcept { return pipeline_ ? pipeline_->stats() : Stats{}; }

const Options& Client::options() const noexcept {
  static const Options* defaults = new Options();
  return pipeline_ ? pipeline_->options() : *defaults;
}

Status init(Options options) noexcept {
  try {
    // One init at a time, and the old client fully stopped before the new one starts: a user
    // transport factory may hand out objects that must not see two workers at once.
    static std::mutex* init_mutex = new std::mutex;  // leaked: init may run during exit
    std::lock_guard<std::mutex> lock(*init_mutex);
    if (options.log_handler || options.log_level != LogLevel::warn) apply_logging(options);
    auto previous = detail::exchange_default_pipeline(nullptr);
    if (previous) (void)previous->shutdown(previous->options().shutdown_timeout);
    previous.reset();
    Status status;
    auto pipeline = detail::Pipeline::create(std::move(options), detail::assemble_delivery, status);
    if (!pipeline) return status;
    detail::exchange_default_pipeline(pipeline);
    return status;
  } catch (...) {
    return Status(ErrorCode::internal, "init failed");
  }
}

bool shutdown(std::chrono::milliseconds timeout) noexcept {
  // The pipeline stays the default after shutdown, inert, so that stats() still reports it.
  auto pipeline = detail::default_pipeline();
  return !pipeline || pipeline->shutdown(timeout);
}

bool flush(std::chrono::milliseconds timeout) noexcept {
  auto pipeline = detail::default_pipeline();
  return !pipeline || pipeline->flush(timeout);
}

Stats stats() noexcept {
  auto pipeline = detail::default_pipeline();
  return pipeline ? pipeline->stats() : Stats{};
}

}  // namespace v0
}  // namespace promptetheus
