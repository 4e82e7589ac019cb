#include "analysis/bounded_json.hpp"

#include "analysis/unicode.hpp"

namespace promptetheus::analysis {

namespace {

using json = nlohmann::json;

std::size_t code_points(std::string_view utf8) {
  std::size_t n = 0;
  for (const char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string more_items(std::size_t n) { return "…[" + std::to_string(n) + " more items]"; }

json bounded_at(const json& value, const JsonBounds& bounds, std::size_t depth) {
  if (value.is_string()) return truncate_text(value.get_ref<const std::string&>(), bounds.max_string_chars);
  if (!value.is_structured()) return value;
  if (depth >= bounds.max_depth) return "…[nested deeper than " + std::to_string(bounds.max_depth) + " levels]";
  std::size_t kept = 0;
  if (value.is_array()) {
    json out = json::array();
    for (const json& element : value) {
      if (kept++ == bounds.max_items) {
        out.push_back(more_items(value.size() - bounds.max_items));
        break;
      }
      out.push_back(bounded_at(element, bounds, depth + 1));
    }
    return out;
  }
  json out = json::object();
  for (auto it = value.begin(); it != value.end(); ++it) {
    if (kept++ == bounds.max_items) {
      out["…"] = more_items(value.size() - bounds.max_items);
      break;
    }
    out[truncate_text(it.key(), bounds.max_string_chars)] = bounded_at(it.value(), bounds, depth + 1);
  }
  return out;
}

}  // namespace

std::string truncate_text(std::string_view text, std::size_t max_chars) {
  const std::string_view kept = code_point_prefix(text, max_chars);
  if (kept.size() == text.size()) return std::string(text);
  return std::string(kept) + "…[truncated " + std::to_string(code_points(text.substr(kept.size()))) + " chars]";
}

json bounded(const json& value, const JsonBounds& bounds) { return bounded_at(value, bounds, 0); }

json view_to_json(const JsonView& view) {
  if (!view.present()) return nullptr;
  json parsed = json::parse(view.raw(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return std::string(view.raw());
  return parsed;
}

}  // namespace promptetheus::analysis
