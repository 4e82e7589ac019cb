#include "transport/otlp_tee_transport.hpp"

#include "core/log.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

OtlpTeeTransport::OtlpTeeTransport(std::unique_ptr<Transport> primary, OtlpSpanBuilderConfig spans,
                                   OtlpExporterConfig exporter, std::shared_ptr<TransportHealth> health)
    : primary_(std::move(primary)),
      health_(health),
      builder_(std::move(spans)),
      exporter_(std::move(exporter), std::move(health)) {}

OtlpTeeTransport::~OtlpTeeTransport() = default;

void OtlpTeeTransport::export_finished() noexcept {
  try {
    std::size_t spans = 0;
    if (auto request = builder_.take_request(spans)) exporter_.enqueue(*request, spans);
  } catch (...) {
    log_warn("cannot write the finished OpenTelemetry spans");
  }
}

void OtlpTeeTransport::send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept {
  // Into the spans first: the primary may move the events' text out.
  for (const EncodedEvent& e : events) {
    try {
      builder_.add(e);
    } catch (...) {
      // Out of memory: the event's span goes out without it; the primary still has it.
      ++failed_events_;
    }
  }
  if (health_) health_->otlp_dropped_span_events.store(builder_.dropped_events() + failed_events_);
  export_finished();
  if (primary_) {
    primary_->send(events, deadline);
  } else {
    for (EncodedEvent& e : events) e.outcome = DeliveryOutcome::dropped;
  }
}

void OtlpTeeTransport::idle(const Deadline& deadline) noexcept {
  if (primary_) primary_->idle(deadline);
}

void OtlpTeeTransport::close(const Deadline& deadline) noexcept {
  try {
    builder_.finish_all();
  } catch (...) {
  }
  export_finished();
  exporter_.start_closing(deadline);  // sends while the primary closes
  if (primary_) primary_->close(deadline);
  exporter_.close(deadline);
}

void OtlpTeeTransport::interrupt() noexcept {
  if (primary_) primary_->interrupt();
  exporter_.interrupt();
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
