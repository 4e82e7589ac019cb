#include "promptetheus/trace_context.hpp"

#include <algorithm>

#include "core/hex.hpp"
#include "core/ids.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE

namespace {

constexpr std::size_t kTraceparentLength = 55;  // version 00: 2+1+32+1+16+1+2
constexpr std::size_t kMaxTracestateMembers = 32;
constexpr std::size_t kTracestatePropagationLimit = 512;
constexpr std::size_t kLongMember = 128;

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool lcalpha(char c) noexcept { return c >= 'a' && c <= 'z'; }
bool digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool key_char(char c) noexcept {
  return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// key = simple-key / multi-tenant-key
// simple-key = lcalpha 0*255( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// multi-tenant-key = tenant-id "@" system-id
// tenant-id = ( lcalpha / DIGIT ) 0*240( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
// system-id = lcalpha 0*13( lcalpha / DIGIT / "_" / "-"/ "*" / "/" )
bool valid_key(std::string_view key) noexcept {
  const auto at = key.find('@');
  const auto rest_ok = [](std::string_view s) { return std::all_of(s.begin(), s.end(), key_char); };
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && lcalpha(key[0]) && rest_ok(key.substr(1));
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 && (lcalpha(tenant[0]) || digit(tenant[0])) &&
         rest_ok(tenant.substr(1)) && !system.empty() && system.size() <= 14 && lcalpha(system[0]) &&
         rest_ok(system.substr(1));
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
bool valid_value(std::string_view value) noexcept {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  return std::all_of(value.begin(), value.end(), [](char c) {
    return c == ' ' || (c >= 0x21 && c <= 0x7E && c != ',' && c != '=');
  });
}

// The members of a tracestate, trimmed, empty ones left out; false when any member is invalid,
// a key repeats, or there are more than 32.
bool parse_tracestate(std::string_view text, std::vector<std::string_view>& members) {
  std::vector<std::string_view> keys;
  while (true) {
    const auto comma = text.find(',');
    const std::string_view member = trim(text.substr(0, comma));
    if (!member.empty()) {
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return false;
      const std::string_view key = member.substr(0, eq);
      if (!valid_key(key) || !valid_value(member.substr(eq + 1))) return false;
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) return false;
      keys.push_back(key);
      members.push_back(member);
      if (members.size() > kMaxTracestateMembers) return false;
    }
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

std::string join(const std::vector<std::string_view>& members) {
  std::string out;
  for (const std::string_view m : members) {
    if (!out.empty()) out += ',';
    out += m;
  }
  return out;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

template <typename Headers>
TraceContext extract_from(const Headers& headers) {
  std::string_view traceparent;
  bool have_traceparent = false;
  std::string tracestate;
  for (const auto& [name, value] : headers) {
    if (equal_ignoring_case(name, "traceparent")) {
      if (have_traceparent) return TraceContext();  // two traceparents: which one is unknowable
      traceparent = value;
      have_traceparent = true;
    } else if (equal_ignoring_case(name, "tracestate")) {
      if (!tracestate.empty()) tracestate += ',';
      tracestate += value;
    }
  }
  return have_traceparent ? TraceContext::parse(traceparent, tracestate) : TraceContext();
}

}  // namespace

TraceContext TraceContext::parse(std::string_view traceparent, std::string_view tracestate) {
  TraceContext ctx;
  const std::string_view t = trim(traceparent);
  if (t.size() < kTraceparentLength) return ctx;
  std::array<std::uint8_t, 1> version{};
  std::array<std::uint8_t, 1> flags{};
  if (!detail::parse_lower_hex(t.substr(0, 2), version) || version[0] == 0xFF) return ctx;
  if (t[2] != '-' || t[35] != '-' || t[52] != '-') return ctx;
  // Version 00 has nothing after the flags; a later version may add fields after a '-'.
  if (version[0] == 0x00 ? t.size() != kTraceparentLength
                         : t.size() > kTraceparentLength && t[kTraceparentLength] != '-') {
    return ctx;
  }
  if (!detail::parse_lower_hex(t.substr(3, 32), ctx.trace_id_) ||
      !detail::parse_lower_hex(t.substr(36, 16), ctx.parent_id_) || !detail::parse_lower_hex(t.substr(53, 2), flags)) {
    return ctx;
  }
  if (detail::all_zero(ctx.trace_id_) || detail::all_zero(ctx.parent_id_)) return TraceContext();
  ctx.flags_ = flags[0];
  ctx.valid_ = true;
  std::vector<std::string_view> members;
  if (parse_tracestate(tracestate, members)) ctx.tracestate_ = join(members);
  return ctx;
}

TraceContext TraceContext::extract(const std::map<std::string, std::string>& headers) {
  return extract_from(headers);
}

TraceContext TraceContext::extract(const std::vector<std::pair<std::string, std::string>>& headers) {
  return extract_from(headers);
}

TraceContext TraceContext::generate() {
  TraceContext ctx;
  do {
    const detail::SpanId trace = detail::new_span_id();
    std::copy(trace.begin(), trace.end(), ctx.trace_id_.begin());
  } while (detail::all_zero(ctx.trace_id_));
  do {
    const detail::SpanId parent = detail::new_span_id();
    std::copy(parent.begin(), parent.begin() + 8, ctx.parent_id_.begin());
  } while (detail::all_zero(ctx.parent_id_));
  ctx.flags_ = 0x01;
  ctx.valid_ = true;
  return ctx;
}

std::string TraceContext::trace_id() const { return valid_ ? detail::lower_hex(trace_id_) : std::string(); }
std::string TraceContext::parent_id() const { return valid_ ? detail::lower_hex(parent_id_) : std::string(); }

std::string TraceContext::traceparent() const {
  if (!valid_) return {};
  const std::array<std::uint8_t, 1> flags{flags_};
  return "00-" + detail::lower_hex(trace_id_) + "-" + detail::lower_hex(parent_id_) + "-" + detail::lower_hex(flags);
}

TraceContext TraceContext::with_parent(std::string_view parent_id) const {
  TraceContext ctx = *this;
  if (!valid_ || !detail::parse_lower_hex(parent_id, ctx.parent_id_) || detail::all_zero(ctx.parent_id_)) {
    return TraceContext();
  }
  return ctx;
}

std::map<std::string, std::string> TraceContext::headers() const {
  std::map<std::string, std::string> out;
  if (!valid_) return out;
  out["traceparent"] = traceparent();
  std::vector<std::string_view> members;
  if (tracestate_.empty() || !parse_tracestate(tracestate_, members)) return out;
  const auto length = [&] {
    std::size_t n = members.empty() ? 0 : members.size() - 1;
    for (const std::string_view m : members) n += m.size();
    return n;
  };
  // Over the limit: long members go first, then members from the right.
  for (auto it = members.begin(); length() > kTracestatePropagationLimit && it != members.end();) {
    it = it->size() > kLongMember ? members.erase(it) : it + 1;
  }
  while (length() > kTracestatePropagationLimit) members.pop_back();
  if (!members.empty()) out["tracestate"] = join(members);
  return out;
}

PROMPTETHEUS_END_NAMESPACE
