// Cost estimation (contract §7.8): the default price table, price resolution by exact entry or
// longest prefix, token counts coerced as the reference's int() does, the code-point token
// heuristic, and the one-line session summary.
#include "promptetheus/policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <string>

#include "core/utf8.hpp"
#include "policy/cost_tally.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE
namespace policy {

namespace {

using nlohmann::json;

struct TableEntry {
  std::string_view model;
  Price price;
};

/// USD per 1,000 tokens (input, output). Approximate list prices; a caller passes its own table
/// for current numbers. An array, not a map: nothing to construct, nothing that can fail.
constexpr TableEntry kDefaultPrices[] = {
    {"gpt-4o", {0.0025, 0.01}},
    {"gpt-4o-mini", {0.00015, 0.0006}},
    {"gpt-4.1", {0.002, 0.008}},
    {"gpt-4.1-mini", {0.0004, 0.0016}},
    {"gpt-4.1-nano", {0.0001, 0.0004}},
    {"gpt-4-turbo", {0.01, 0.03}},
    {"gpt-4", {0.03, 0.06}},
    {"gpt-3.5-turbo", {0.0005, 0.0015}},
    {"o1", {0.015, 0.06}},
    {"o1-mini", {0.0011, 0.0044}},
    {"o3", {0.002, 0.008}},
    {"o3-mini", {0.0011, 0.0044}},
    {"o4-mini", {0.0011, 0.0044}},
    {"claude-3-5-sonnet", {0.003, 0.015}},
    {"claude-3-5-haiku", {0.0008, 0.004}},
    {"claude-3-7-sonnet", {0.003, 0.015}},
    {"claude-sonnet-4", {0.003, 0.015}},
    {"claude-opus-4", {0.015, 0.075}},
    {"claude-haiku-4", {0.001, 0.005}},
    {"claude-3-opus", {0.015, 0.075}},
    {"claude-3-sonnet", {0.003, 0.015}},
    {"claude-3-haiku", {0.00025, 0.00125}},
};

/// model.lower() as far as it matters for matching: ASCII letters, plus the two non-ASCII
/// letters whose lowercase contains ASCII (U+0130 -> "i\u0307", U+212A KELVIN SIGN -> "k").
/// Other non-ASCII text is kept as it is (Python lowercases it too, to other non-ASCII text,
/// which can only matter for a caller's table with non-ASCII keys).
std::string lower_model(std::string_view model) {
  std::string out;
  out.reserve(model.size() + 1);
  for (std::size_t i = 0; i < model.size(); ++i) {
    const char c = model[i];
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if (model.compare(i, 2, "\xC4\xB0") == 0) {
      out += "i\xCC\x87";
      ++i;
    } else if (model.compare(i, 3, "\xE2\x84\xAA") == 0) {
      out.push_back('k');
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

/// The exact entry, else the longest key that `key` starts with. Keys are compared as written.
template <class Table>
std::optional<Price> match(const Table& table, std::string_view key) noexcept {
  const Price* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [name, price] : table) {
    const std::string_view candidate(name);
    if (key.substr(0, candidate.size()) != candidate) continue;
    if (candidate.size() == key.size()) return price;  // exact
    if (best == nullptr || candidate.size() > best_length) {
      best = &price;
      best_length = candidate.size();
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// The ASCII whitespace int() skips around digits: " \t\n\v\f\r" (not \x1c-\x1f, which
/// str.strip() would remove).
bool is_space(char c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }

/// int(s) for a str, as a count: the decimal digits without leading zeros ("0" for zero and
/// for a negative value), or empty when Python raises ValueError. ASCII digits and whitespace
/// only (Python also accepts other Unicode decimal digits and whitespace).
std::string count_from_string(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return {};
  std::string digits;
  std::size_t digit_count = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '_') {
      // Only between two digits.
      if (i == 0 || i + 1 == s.size() || !is_digit(s[i - 1]) || !is_digit(s[i + 1])) return {};
      continue;
    }
    if (!is_digit(c)) return {};
    ++digit_count;
    if (c == '0' && digits.empty()) continue;  // leading zero
    digits.push_back(c);
  }
  if (digit_count > 4300) return {};  // Python's default limit on int() of a long str
  if (negative || digits.empty()) return "0";
  return digits;
}

/// The reference's _as_count: a token count as a non-negative integer in decimal. null, bools,
/// unparseable strings, NaN and negative values are 0; a float is truncated toward zero.
/// Infinity is 0 too (Python raises OverflowError there).
std::string count_digits(const json& v) {
  switch (v.type()) {
    case json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case json::value_t::number_integer: {
      const auto i = v.get<std::int64_t>();
      return i > 0 ? std::to_string(i) : "0";
    }
    case json::value_t::number_float: {
      const double t = std::trunc(v.get<double>());
      if (!std::isfinite(t) || t <= 0) return "0";
      char buf[400];  // the largest double has 309 integral digits, printed exactly by glibc
      std::snprintf(buf, sizeof buf, "%.0f", t);
      return buf;
    }
    case json::value_t::string: {
      std::string digits = count_from_string(v.get_ref<const std::string&>());
      return digits.empty() ? "0" : digits;
    }
    default: return "0";
  }
}

/// float(count), correctly rounded as Python converts an int. A count beyond the largest double
/// (Python raises OverflowError when dividing it) is priced as 0.
double count_value(const std::string& digits) noexcept {
  const double value = std::strtod(digits.c_str(), nullptr);
  return std::isinf(value) ? 0.0 : value;
}

/// in / 1000.0 * input price + out / 1000.0 * output price, in the reference's order.
double cost_of(const Price& price, double in, double out) noexcept {
  return in / 1000.0 * price.input_per_1k + out / 1000.0 * price.output_per_1k;
}

/// a + b for non-negative decimal integers (the reference sums Python ints, which do not
/// overflow).
std::string add_decimal(const std::string& a, const std::string& b) {
  std::string sum;
  sum.reserve(std::max(a.size(), b.size()) + 1);
  int carry = 0;
  std::size_t i = a.size(), j = b.size();
  while (i > 0 || j > 0 || carry) {
    int d = carry;
    if (i > 0) d += a[--i] - '0';
    if (j > 0) d += b[--j] - '0';
    sum.push_back(static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  std::string out(sum.rbegin(), sum.rend());
  const std::size_t first = out.find_first_not_of('0');
  return first == std::string::npos ? "0" : out.substr(first);
}

/// Python's f"{x:.4f}". glibc's printf rounds the exact binary value as Python does.
std::string format_usd(double x) {
  if (std::isnan(x)) return "nan";  // glibc would write "-nan" for a negative NaN
  const int n = std::snprintf(nullptr, 0, "%.4f", x);
  std::string out(static_cast<std::size_t>(n) + 1, '\0');
  std::snprintf(out.data(), out.size(), "%.4f", x);
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace

std::optional<Price> resolve_price(std::string_view model, const std::map<std::string, Price>* prices) noexcept {
  if (model.empty()) return std::nullopt;
  try {
    const std::string key = lower_model(model);
    if (prices != nullptr) return match(*prices, key);
    return match(kDefaultPrices, key);
  } catch (...) {
    return std::nullopt;  // no memory for the lowercase copy
  }
}

double estimate_cost(std::string_view model, const nlohmann::json& input_tokens, const nlohmann::json& output_tokens,
                     const std::map<std::string, Price>* prices) noexcept {
  try {
    const std::optional<Price> price = resolve_price(model, prices);
    if (!price) return 0.0;
    return cost_of(*price, count_value(count_digits(input_tokens)), count_value(count_digits(output_tokens)));
  } catch (...) {
    return 0.0;  // no memory for a count's digits
  }
}

std::int64_t estimate_tokens(std::string_view text) noexcept {
  std::int64_t code_points = 0;
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t cp = 0;
    const std::size_t len = static_cast<unsigned char>(text[i]) < 0x80 ? 1 : detail::decode_utf8(text, i, cp);
    i += len == 0 ? 1 : len;  // an invalid byte counts as one (U+FFFD), as the SDK writes it
    ++code_points;
  }
  if (code_points == 0) return 0;
  // max(1, int(len(text) / 4.0 + 0.999)): ceil(code points / 4) for any realistic length.
  const auto tokens = static_cast<std::int64_t>(static_cast<double>(code_points) / 4.0 + 0.999);
  return tokens > 1 ? tokens : 1;
}

namespace {

/// A decimal count as an int64, saturating.
std::int64_t saturating(const std::string& digits) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t value = 0;
  for (char c : digits) {
    const int d = c - '0';
    if (value > (kMax - d) / 10) return kMax;
    value = value * 10 + d;
  }
  return value;
}

}  // namespace

void CostTally::add_call(std::optional<std::string_view> model, const nlohmann::json* input_tokens,
                         const nlohmann::json* output_tokens) {
  ++llm_calls_;
  const std::string in = input_tokens != nullptr ? count_digits(*input_tokens) : "0";
  const std::string out = output_tokens != nullptr ? count_digits(*output_tokens) : "0";
  in_total_ = add_decimal(in_total_, in);
  out_total_ = add_decimal(out_total_, out);
  const std::string_view model_name = model.value_or("");
  if (!has_last_ || model_name != last_model_) {
    last_price_ = resolve_price(model_name, prices_);
    last_model_.assign(model_name);
    has_last_ = true;
  }
  if (!last_price_) {
    if (!model_name.empty()) unknown_.emplace(model_name);
    return;
  }
  ++priced_calls_;
  total_ += cost_of(*last_price_, count_value(in), count_value(out));
}

SessionCost CostTally::totals() const {
  SessionCost cost;
  cost.total_usd = total_;
  cost.input_tokens = saturating(in_total_);
  cost.output_tokens = saturating(out_total_);
  cost.llm_calls = llm_calls_;
  cost.priced_calls = priced_calls_;
  cost.unknown_models.assign(unknown_.begin(), unknown_.end());
  return cost;
}

namespace {

/// The reference's accumulate_session_cost over a list of events.
CostTally accumulate(const std::vector<nlohmann::json>& events, const std::map<std::string, Price>* prices) {
  CostTally tally(prices);
  for (const json& event : events) {
    if (!event.is_object()) continue;
    const auto type = event.find("type");
    if (type == event.end() || !type->is_string() || type->get_ref<const std::string&>() != "llm_call") continue;
    const auto payload_it = event.find("payload");
    if (payload_it == event.end() || !payload_it->is_object()) {
      tally.add_call(std::nullopt, nullptr, nullptr);
      continue;
    }
    const json& payload = *payload_it;
    const auto m = payload.find("model");
    const auto i = payload.find("input_tokens");
    const auto o = payload.find("output_tokens");
    tally.add_call(m != payload.end() && m->is_string() ? std::optional<std::string_view>(m->get_ref<const std::string&>())
                                                        : std::nullopt,
                   i != payload.end() ? &*i : nullptr, o != payload.end() ? &*o : nullptr);
  }
  return tally;
}

}  // namespace

SessionCost session_cost(const std::vector<nlohmann::json>& events, const std::map<std::string, Price>* prices) {
  return accumulate(events, prices).totals();
}

std::string format_cost(const std::vector<nlohmann::json>& events, const std::map<std::string, Price>* prices) {
  const CostTally a = accumulate(events, prices);
  std::string line = "$" + format_usd(a.total_usd()) + " across " + std::to_string(a.llm_calls()) + " LLM call(s); " +
                     a.input_total() + " in / " + a.output_total() + " out tokens";
  const std::int64_t unpriced = a.llm_calls() - a.priced_calls();
  if (unpriced > 0) {
    line += "; " + std::to_string(unpriced) + " unpriced (";
    if (a.unknown_models().empty()) {
      line += "unknown";
    } else {
      bool first = true;
      for (const std::string& name : a.unknown_models()) {
        if (!first) line += ", ";
        line += name;
        first = false;
      }
    }
    line += ")";
  }
  return line;
}

}  // namespace policy
PROMPTETHEUS_END_NAMESPACE
