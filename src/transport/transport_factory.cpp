#include "transport/transport_factory.hpp"

#include "core/log.hpp"
#include "transport/http_transport.hpp"
#include "transport/memory_transport.hpp"
#include "transport/spool_transport.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

TransportChoice spool_choice(const Options& options, Status status) {
  TransportChoice choice;
  Spool spool(options.spool_dir, options.spool_max_bytes);
  choice.spool = std::make_shared<const Spool>(spool);
  choice.transport = std::make_unique<SpoolTransport>(std::move(spool));
  choice.name = "spool";
  choice.spool_dir = options.spool_dir;
  choice.status = std::move(status);
  return choice;
}

}  // namespace

TransportChoice make_transport(const Options& options) noexcept {
  try {
    if (options.transport_factory) {
      TransportChoice choice;
      try {
        choice.transport = options.transport_factory();
      } catch (const std::exception& e) {
        log_warn(std::string("the transport factory failed: ") + e.what());
      } catch (...) {
        log_warn("the transport factory failed");
      }
      if (!choice.transport) {
        return spool_choice(options, Status(ErrorCode::transport, "the transport factory made no transport; using the spool"));
      }
      choice.name = "custom";
      choice.spool_dir = options.overflow_to_spool ? options.spool_dir : "";
      return choice;
    }
    switch (options.transport) {
      case TransportMode::off:
        return TransportChoice{nullptr, "off", "", nullptr, nullptr, Status{}};
      case TransportMode::memory:
        return TransportChoice{std::make_unique<MemoryTransport>(), "memory", "", nullptr, nullptr, Status{}};
      case TransportMode::spool:
        return spool_choice(options, Status{});
      case TransportMode::automatic:
        if (options.api_key.empty()) return spool_choice(options, Status{});
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
          HttpTransportConfig config = http_config_from(options);
          auto health = std::make_shared<TransportHealth>();
          Spool spool(options.spool_dir, options.spool_max_bytes);
          TransportChoice choice{std::make_unique<HttpTransport>(std::move(config), health, spool), "http",
                                 options.spool_dir, nullptr, health, Status{}};
          choice.spool = std::make_shared<const Spool>(std::move(spool));
          return choice;
        }
        log_warn(status.message());
        return spool_choice(options, status);
      }
    }
    return spool_choice(options, Status{});
  } catch (const std::exception& e) {
    return TransportChoice{nullptr, "off", "", nullptr, nullptr, Status(ErrorCode::transport, e.what())};
  } catch (...) {
    return TransportChoice{nullptr, "off", "", nullptr, nullptr, Status(ErrorCode::transport, "cannot build the transport")};
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
