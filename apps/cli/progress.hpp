// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <cstdint>
#include <string>

namespace promptetheus::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::uint64_t total);
  ~ProgressBar();
  void update(std::uint64_t done);
  /// Clears the line; further updates are ignored.
  void finish();
  bool active() const { return active_; }

 private:
  std::string label_;
  std::uint64_t total_;
  bool active_;
};

}  // namespace promptetheus::cli
