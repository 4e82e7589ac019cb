#include "analysis/export_document.hpp"

#include <unordered_map>

#include "analysis/pyrepr.hpp"

namespace promptetheus::analysis {

std::string export_document(const std::string& session_id, const Session& session) {
  std::vector<std::pair<std::string, std::uint64_t>> types;
  std::unordered_map<std::string, std::size_t> type_index;
  for (const Event& e : session.events) {
    // str(event.get("type")): a missing type (or a non-object event) counts as "None".
    const std::string type = e.is_object() ? pystr(e.type) : std::string("None");
    auto [it, inserted] = type_index.emplace(type, types.size());
    if (inserted) types.emplace_back(type, 0);
    ++types[it->second].second;
  }
  std::string out;
  out.reserve(session.text ? session.text->view().size() * 2 : 256);
  out += "{\n  \"session_id\": ";
  append_json_string(out, session_id);
  out += ",\n  \"events\": ";
  if (session.events.empty()) {
    out += "[]";
  } else {
    out += "[";
    bool first = true;
    for (const Event& e : session.events) {
      out += first ? "\n    " : ",\n    ";
      first = false;
      append_json_dump(out, e.value, 2);
    }
    out += "\n  ]";
  }
  out += ",\n  \"summary\": {\n    \"count\": ";
  out += std::to_string(session.events.size());
  out += ",\n    \"types\": ";
  if (types.empty()) {
    out += "{}";
  } else {
    out += "{";
    bool first = true;
    for (const auto& [type, count] : types) {
      out += first ? "\n      " : ",\n      ";
      first = false;
      append_json_string(out, type);
      out += ": ";
      out += std::to_string(count);
    }
    out += "\n    }";
  }
  out += "\n  }\n}";
  return out;
}

}  // namespace promptetheus::analysis
