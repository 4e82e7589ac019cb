// SHA-256 (FIPS 180-4), for fingerprint hashes.
#pragma once

#include <string>
#include <string_view>

namespace promptetheus::analysis {

/// Lowercase hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace promptetheus::analysis
