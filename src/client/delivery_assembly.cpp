#include "client/delivery_assembly.hpp"

#include "core/log.hpp"
#include "core/otlp_headers.hpp"
#include "policy/recording_policy.hpp"
#include "transport/http_transport.hpp"
#include "transport/memory_transport.hpp"
#include "transport/otlp_tee_transport.hpp"
#include "transport/spool.hpp"
#include "transport/spool_transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

// The spool as the pipeline's spill target.
class SpoolSpill final : public SpillTarget {
 public:
  explicit SpoolSpill(Spool spool) : spool_(std::move(spool)) {}
  bool append(std::string_view session_id, const std::vector<const EncodedEvent*>& events,
              const Deadline& lock_wait, bool* locked_out) noexcept override {
    return spool_.append(session_id, events, /*ends_session=*/false, LockWait{lock_wait, nullptr, locked_out});
  }
  std::uint64_t removed_events() const noexcept override { return spool_.pruned_events(); }

 private:
  Spool spool_;
};

DeliveryParts parts(std::unique_ptr<Transport> transport, std::string name, const Spool* spool,
                    std::shared_ptr<TransportHealth> health, Status status) {
  DeliveryParts p;
  p.transport = std::move(transport);
  p.name = std::move(name);
  if (spool) p.spill = std::make_unique<SpoolSpill>(*spool);  // a copy shares the spool's state
  p.health = std::move(health);
  p.status = std::move(status);
  return p;
}

DeliveryParts spool_parts(const Options& options, Status status) {
  Spool spool(options.spool_dir, options.spool_max_bytes);
  return parts(std::make_unique<SpoolTransport>(spool), "spool", &spool, nullptr, std::move(status));
}

// The transport and spill target for `options` without the OpenTelemetry destination;
// `policy` redacts what the HTTP transport replays from the spool.
DeliveryParts assemble_primary(const Options& options, const std::shared_ptr<const EventPolicy>& policy) noexcept {
  try {
    if (options.transport_factory) {
      std::unique_ptr<Transport> transport;
      try {
        transport = options.transport_factory();
      } catch (const std::exception& e) {
        log_warn(std::string("the transport factory failed: ") + e.what());
      } catch (...) {
        log_warn("the transport factory failed");
      }
      if (!transport) {
        return spool_parts(options, Status(ErrorCode::transport, "the transport factory made no transport; using the spool"));
      }
      const Spool spool(options.spool_dir, options.spool_max_bytes);
      return parts(std::move(transport), "custom", options.overflow_to_spool ? &spool : nullptr, nullptr, Status{});
    }
    switch (options.transport) {
      case TransportMode::off:
        return parts(nullptr, "off", nullptr, nullptr, Status{});
      case TransportMode::memory:
        return parts(std::make_unique<MemoryTransport>(), "memory", nullptr, nullptr, Status{});
      case TransportMode::spool:
      case TransportMode::otlp:  // the spool is the record; the spans are added by with_otlp
        return spool_parts(options, Status{});
      case TransportMode::automatic:
        if (options.api_key.empty()) return spool_parts(options, Status{});
        [[fallthrough]];
      case TransportMode::http: {
        Status status;
        if (options.api_key.empty()) {
          status = Status(ErrorCode::invalid_argument,
                          "transport=http requires api_key or PROMPTETHEUS_API_KEY; using the spool");
        } else if (options.api_url.empty()) {
          status = Status(ErrorCode::invalid_argument,
                          "transport=http requires api_url or PROMPTETHEUS_API_URL; using the spool");
        } else {
          auto health = std::make_shared<TransportHealth>();
          // Undelivered events wait in the outbox, which this transport replays by itself;
          // sessions recorded earlier in spool mode stay where they are.
          Spool spool(options.spool_dir, options.spool_max_bytes, PendingPlace::outbox);
          HttpTransportConfig config = http_config_from(options);
          config.policy = policy;
          return parts(std::make_unique<HttpTransport>(std::move(config), health, spool), "http", &spool, health,
                       Status{});
        }
        log_warn(status.message());
        return spool_parts(options, status);
      }
    }
    return spool_parts(options, Status{});
  } catch (const std::exception& e) {
    return parts(nullptr, "off", nullptr, nullptr, Status(ErrorCode::transport, e.what()));
  } catch (...) {
    return parts(nullptr, "off", nullptr, nullptr, Status(ErrorCode::transport, "cannot build the transport"));
  }
}

// "k=v,k=v" (OpenTelemetry's list form), its problems logged.
std::vector<std::pair<std::string, std::string>> otlp_list(const std::string& list, const char* what) {
  OtlpHeaders parsed = parse_otlp_headers(list);
  for (const std::string& problem : parsed.problems) log_warn(std::string(what) + ": " + problem);
  return std::move(parsed.headers);
}

// `primary` with the OpenTelemetry destination beside it, when options ask for one.
DeliveryParts with_otlp(const Options& options, DeliveryParts primary) noexcept {
  const bool wanted = options.transport == TransportMode::otlp || !options.otlp_endpoint.empty();
  if (!wanted || options.transport == TransportMode::off || (!primary.transport && primary.name == "off")) {
    return primary;
  }
  try {
    if (options.otlp_endpoint.empty()) {
      primary.status = Status(ErrorCode::invalid_argument,
                              "transport=otlp requires otlp_endpoint or PROMPTETHEUS_OTLP_ENDPOINT; using the spool");
      log_warn(primary.status.message());
      return primary;
    }
    auto health = primary.health ? primary.health : std::make_shared<TransportHealth>();
    OtlpSpanBuilderConfig spans;
    for (auto& [key, value] : otlp_list(options.otlp_resource_attributes, "otlp_resource_attributes")) {
      spans.resource_attributes[key] = value;
    }
    OtlpExporterConfig exporter;
    exporter.traces_url = otlp_traces_url(options.otlp_endpoint);
    for (auto& [name, value] : otlp_list(options.otlp_headers, "otlp_headers")) {
      exporter.extra_headers.push_back(name + ": " + value);
    }
    exporter.outbox_dir = options.spool_dir + "/" + kOtlpOutboxDirName;
    exporter.dead_letter_dir = options.spool_dir + "/dead-letter/" + kOtlpOutboxDirName;
    exporter.request_timeout = options.http_timeout;
    exporter.compress_min_bytes = options.compress_min_bytes;
    exporter.max_outbox_bytes = options.spool_max_bytes;
    primary.transport = std::make_unique<OtlpTeeTransport>(std::move(primary.transport), std::move(spans),
                                                           std::move(exporter), health);
    primary.health = std::move(health);
    primary.name = options.transport == TransportMode::otlp ? "otlp" : primary.name + "+otlp";
    return primary;
  } catch (const std::exception& e) {
    log_warn(std::string("cannot start the OpenTelemetry export: ") + e.what());
  } catch (...) {
    log_warn("cannot start the OpenTelemetry export");
  }
  return primary;
}

DeliveryParts assemble_transport(const Options& options, const std::shared_ptr<const EventPolicy>& policy) noexcept {
  return with_otlp(options, assemble_primary(options, policy));
}

// What PROMPTETHEUS_DEBUG=1 shows of the client's set-up: where events go, never the key.
void log_decisions(const Options& options, const DeliveryParts& parts) noexcept {
  try {
    std::string line = "client: transport " + parts.name + " (configured " + to_string(options.transport) +
                        ", api_key " + (options.api_key.empty() ? "not set" : "set") + ")";
    if (parts.name.rfind("http", 0) == 0) line += ", api_url " + options.api_url;
    if (parts.name.find("otlp") != std::string::npos) line += ", otlp_endpoint " + options.otlp_endpoint;
    line += ", spool_dir " + options.spool_dir;
    if (parts.name.rfind("http", 0) == 0) line += " (undelivered events wait in " + options.spool_dir + "/" + kOutboxDirName + ")";
    line += ", sample_rate " + std::to_string(options.sample_rate) + ", redact " +
            (options.redact.empty() ? std::string("off") : options.redact);
    log_debug(line);
  } catch (...) {
  }
}

}  // namespace

DeliveryParts assemble_delivery(const Options& options) noexcept {
  std::vector<std::string> problems;
  std::shared_ptr<const EventPolicy> policy;
  if (!make_event_policy(options, policy, problems)) {
    // Recording without the policy could send what it should redact: record nothing.
    DeliveryParts off;
    off.name = "off";  // fits std::string's small buffer: no allocation
    try {
      off.status = Status(ErrorCode::internal, "cannot prepare the recording policy; recording nothing");
    } catch (...) {
      off.status = Status(ErrorCode::internal, std::string());
    }
    return off;
  }
  DeliveryParts assembled = assemble_transport(options, policy);
  assembled.policy = std::move(policy);
  log_decisions(options, assembled);
  for (const auto& problem : problems) log_warn(problem);
  if (!problems.empty() && assembled.status.ok()) {
    try {
      assembled.status = Status(ErrorCode::invalid_argument, problems.front());
    } catch (...) {
    }
  }
  return assembled;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
