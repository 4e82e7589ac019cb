#include "transport/http_outcome.hpp"

#include <curl/curl.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "transport/retry_policy.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

const char* action_name(Action action) noexcept {
  switch (action) {
    case Action::accepted: return "accepted";
    case Action::transient: return "transient";
    case Action::pause: return "pause";
    case Action::interrupted: return "interrupted";
    case Action::trace_missing: return "trace_missing";
    case Action::too_large: return "too_large";
    case Action::duplicate: return "duplicate";
    case Action::dead_letter: return "dead_letter";
  }
  return "unknown";
}

namespace {

// Transfer failures that retrying cannot fix: the endpoint or TLS setup is wrong.
bool is_configuration_error(int code) {
  switch (static_cast<CURLcode>(code)) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_NOT_BUILT_IN:
      return true;
    default:
      return false;
  }
}

}  // namespace

Outcome classify(const HttpResult& r, std::chrono::system_clock::time_point now,
                 std::chrono::seconds retry_after_cap) noexcept {
  Outcome out;
  try {
    if (!r.retry_after.empty()) out.retry_after = parse_retry_after(r.retry_after, now, retry_after_cap);

    if (r.curl_code != CURLE_OK || r.status == 0) {
      out.reason = r.curl_code != CURLE_OK ? curl_easy_strerror(static_cast<CURLcode>(r.curl_code))
                                           : "no response";
      if (r.curl_code == CURLE_ABORTED_BY_CALLBACK) {
        out.action = Action::interrupted;
      } else if (is_configuration_error(r.curl_code)) {
        out.action = Action::pause;
      } else {
        out.action = Action::transient;
      }
      return out;
    }

    const long s = r.status;
    out.reason = "http_" + std::to_string(s);
    if (s >= 200 && s < 300) {
      out.action = Action::accepted;
    } else if (s < 200 || s == 408 || s == 429 || s >= 500) {
      out.action = Action::transient;
    } else if (s < 400 || s == 401 || s == 403) {
      out.action = Action::pause;  // an unfollowed redirect or a credential problem
    } else if (s == 404) {
      out.action = Action::trace_missing;
    } else if (s == 409) {
      out.action = Action::duplicate;
    } else if (s == 413) {
      out.action = Action::too_large;
    } else {
      out.action = Action::dead_letter;
    }
  } catch (...) {
    out.action = Action::transient;
  }
  return out;
}

Resolution resolve_accepted(std::string_view body, bool body_truncated,
                            const std::vector<const EncodedEvent*>& batch) noexcept {
  Resolution res;
  try {
    nlohmann::json doc;
    if (!body_truncated) {
      // An empty body reads as {} (contract §4.4): ambiguous, so everything is re-sent.
      doc = body.empty() ? nlohmann::json::object()
                         : nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    }
    bool accepted_valid = false;
    std::vector<bool> is_rejected(batch.size(), false);
    if (doc.is_object()) {
      auto acc = doc.find("accepted");
      if (acc != doc.end() && acc->is_number_integer() &&
          (acc->is_number_unsigned() || acc->get<std::int64_t>() >= 0)) {
        accepted_valid = true;
        res.accepted = acc->get<std::uint64_t>();
      }
      auto rej = doc.find("rejected");
      if (rej != doc.end() && rej->is_array() && !rej->empty()) {
        std::unordered_map<std::string_view, std::size_t> by_key;
        for (std::size_t i = 0; i < batch.size(); ++i) {
          const std::string& key = batch[i]->idempotency_key;
          if (!key.empty()) by_key.emplace(key, i);
        }
        for (const auto& entry : *rej) {
          if (!entry.is_object()) continue;
          std::optional<std::size_t> match;
          auto k = entry.find("idempotency_key");
          if (k != entry.end() && !k->is_null()) {
            auto found = by_key.find(k->is_string() ? k->get<std::string>() : k->dump());
            if (found != by_key.end()) match = found->second;
          }
          auto idx = entry.find("index");
          if (!match && idx != entry.end() && idx->is_number_integer()) {
            auto i = idx->get<std::int64_t>();
            if (i >= 0 && static_cast<std::uint64_t>(i) < batch.size()) match = static_cast<std::size_t>(i);
          }
          if (!match || is_rejected[*match]) continue;
          is_rejected[*match] = true;
          auto reason = entry.find("reason");
          std::string why = "rejected";
          if (reason != entry.end() && !reason->is_null()) {
            why = reason->is_string() ? reason->get<std::string>() : reason->dump();
          }
          res.rejected.emplace_back(*match, std::move(why));
        }
      }
    }
    res.fully_accounted = accepted_valid && res.accepted + res.rejected.size() == batch.size();
    if (!res.fully_accounted) {
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!is_rejected[i]) res.unaccounted.push_back(i);
      }
    }
  } catch (...) {
    res = Resolution{};
    for (std::size_t i = 0; i < batch.size(); ++i) res.unaccounted.push_back(i);
  }
  return res;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
