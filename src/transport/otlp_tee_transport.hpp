// The OpenTelemetry destination beside another one: every event goes to the primary transport
// (spool or HTTP, whose outcomes are the events' outcomes in Stats) and into the span builder,
// whose finished spans the OTLP exporter sends from its own thread and outbox. Neither side
// waits for the other: an OTLP endpoint that is down or silent costs the primary nothing but
// the write of a request file, and a primary that fails leaves the spans going out.
#pragma once

#include "promptetheus/export.hpp"

#include <memory>
#include <vector>

#include "core/delivery_accounting.hpp"
#include "promptetheus/transport.hpp"
#include "transport/otlp_exporter.hpp"
#include "transport/otlp_span_builder.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Called from the worker thread only (interrupt() from any thread), as every Transport.
class OtlpTeeTransport final : public Transport {
 public:
  OtlpTeeTransport(std::unique_ptr<Transport> primary, OtlpSpanBuilderConfig spans, OtlpExporterConfig exporter,
                   std::shared_ptr<TransportHealth> health);
  ~OtlpTeeTransport() override;

  void send(std::vector<EncodedEvent>& events, const Deadline& deadline) noexcept override;
  void idle(const Deadline& deadline) noexcept override;
  /// Ends the spans and sessions still open (as of their last event), then closes both sides
  /// within the deadline; the OTLP requests not sent by then stay in the outbox.
  void close(const Deadline& deadline) noexcept override;
  void interrupt() noexcept override;

 private:
  void export_finished() noexcept;

  std::unique_ptr<Transport> primary_;
  std::shared_ptr<TransportHealth> health_;
  OtlpSpanBuilder builder_;
  std::uint64_t failed_events_ = 0;  // events the builder threw on (out of memory)
  OtlpExporter exporter_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
