// The running totals of a session's llm_call events (the reference's accumulate_session_cost),
// one call at a time: what session_cost and format_cost sum over a list of events, and what the
// timeline sums while it reads a session, without building each call as a JSON event first.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "promptetheus/policy.hpp"

PROMPTETHEUS_BEGIN_NAMESPACE
namespace policy {

class CostTally {
 public:
  explicit CostTally(const std::map<std::string, Price>* prices) noexcept : prices_(prices) {}

  /// Adds one llm_call: `model` is its payload's model when that is a string (nothing
  /// otherwise), the counts its input_tokens and output_tokens (nullptr when absent), read as
  /// estimate_cost reads them. Not thread-safe. Throws only std::bad_alloc.
  void add_call(std::optional<std::string_view> model, const nlohmann::json* input_tokens,
                const nlohmann::json* output_tokens);

  /// The totals so far. Throws only std::bad_alloc.
  SessionCost totals() const;
  /// Exact decimal sums of the counts, as Python's ints sum them.
  const std::string& input_total() const noexcept { return in_total_; }
  const std::string& output_total() const noexcept { return out_total_; }
  std::int64_t llm_calls() const noexcept { return llm_calls_; }
  std::int64_t priced_calls() const noexcept { return priced_calls_; }
  double total_usd() const noexcept { return total_; }
  /// Distinct non-empty model names with no price; byte order of UTF-8 is code point order, so
  /// sorted as Python sorts them.
  const std::set<std::string>& unknown_models() const noexcept { return unknown_; }

 private:
  const std::map<std::string, Price>* prices_;
  double total_ = 0.0;
  std::string in_total_ = "0", out_total_ = "0";
  std::int64_t llm_calls_ = 0, priced_calls_ = 0;
  std::set<std::string> unknown_;
  // Sessions call few models many times: the last resolution is kept.
  std::string last_model_;
  std::optional<Price> last_price_;
  bool has_last_ = false;
};

}  // namespace policy
PROMPTETHEUS_END_NAMESPACE
