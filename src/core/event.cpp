#include "core/event.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

const char* event_type_name(EventType type) noexcept {
  // The names are string literals, so their data() is NUL-terminated.
  auto index = static_cast<int>(type);
  return index >= 0 && index < kEventTypeCount ? kEventTypes[index].data() : "state_change";
}

bool is_event_type(std::string_view name) noexcept {
  for (std::string_view known : kEventTypes) {
    if (known == name) return true;
  }
  return false;
}

namespace {

// Recursion as deep as the writer goes (a json value's depth is the caller's to bound; deeper
// levels are left to nlohmann::json, which then allocates to destroy them).
constexpr int kReleaseDepth = 128;

void release_children(nlohmann::json& j, int depth) noexcept {
  if (depth > kReleaseDepth) return;
  if (j.is_array()) {
    auto& items = j.get_ref<nlohmann::json::array_t&>();
    for (auto& item : items) release_children(item, depth + 1);
    items.clear();  // destroys only scalars, strings and empty containers
  } else if (j.is_object()) {
    auto& members = j.get_ref<nlohmann::json::object_t&>();
    for (auto& member : members) release_children(member.second, depth + 1);
    members.clear();
  }
}

}  // namespace

void release_json(nlohmann::json& j) noexcept {
  release_children(j, 1);
  j = nullptr;  // an empty container: nothing to allocate for
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
