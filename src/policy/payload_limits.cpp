#include "policy/payload_limits.hpp"

#include "core/json_writer.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

namespace {

/// Payload fields that identify rather than describe (state_change and metric names, the ids
/// that pair tool calls with results and events with artifacts): never cut.
bool identifies(std::string_view key) {
  return key == "name" || key == "call_id" || key == "artifact_id" || key == "storage_path";
}

std::size_t truncate_json(nlohmann::json& value, std::size_t max_bytes, int depth) {
  using T = nlohmann::json::value_t;
  std::size_t cut = 0;
  switch (value.type()) {
    case T::string:
      return truncate_string(value.get_ref<std::string&>(), max_bytes) ? 1 : 0;
    case T::array:
      // Deeper containers are written as the depth marker anyway.
      if (depth > kMaxJsonDepth) return 0;
      for (auto& item : value) cut += truncate_json(item, max_bytes, depth + 1);
      return cut;
    case T::object:
      if (depth > kMaxJsonDepth) return 0;
      for (auto& item : value) cut += truncate_json(item, max_bytes, depth + 1);
      return cut;
    default:
      return 0;
  }
}

}  // namespace

std::string truncation_marker(std::size_t removed_bytes) {
  return "\xE2\x80\xA6[truncated " + std::to_string(removed_bytes) + " bytes]";
}

bool truncate_string(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  std::size_t keep = max_bytes;
  // Back up over UTF-8 continuation bytes so that no character is split.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  const std::size_t removed = text.size() - keep;
  text.resize(keep);
  text += truncation_marker(removed);
  return true;
}

std::size_t truncate_strings(Event& event, std::size_t max_bytes) {
  std::size_t cut = 0;
  for (std::size_t i = 0; i < event.payload.size(); ++i) {
    if (identifies(event.payload[i].key)) continue;
    Value& value = event.payload[i].value;
    if (auto* text = std::get_if<std::string>(&value)) {
      cut += truncate_string(*text, max_bytes) ? 1 : 0;
    } else if (auto* tree = std::get_if<nlohmann::json>(&value)) {
      cut += truncate_json(*tree, max_bytes, 3);  // event, payload, field
    }
  }
  if (!event.metadata.is_null()) cut += truncate_json(event.metadata, max_bytes, 2);
  return cut;
}

std::size_t truncate_payload(nlohmann::json& payload, std::size_t max_bytes) {
  if (!payload.is_object()) return truncate_json(payload, max_bytes, 2);
  std::size_t cut = 0;
  for (auto it = payload.begin(); it != payload.end(); ++it) {
    if (!identifies(it.key())) cut += truncate_json(it.value(), max_bytes, 3);
  }
  return cut;
}

std::size_t truncate_metadata(nlohmann::json& metadata, std::size_t max_bytes) {
  return truncate_json(metadata, max_bytes, 2);
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
