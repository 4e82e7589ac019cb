// SHA-256 (FIPS 180-4): failure fingerprints (analysis), hash fractions for sampling and hashed
// redaction placeholders (policy).
#pragma once

#include "promptetheus/export.hpp"

#include <array>
#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

using Sha256Digest = std::array<unsigned char, 32>;

/// The digest of `data`. Allocates nothing.
Sha256Digest sha256(std::string_view data) noexcept;

/// Lowercase hex digest of `data` (64 characters).
std::string sha256_hex(std::string_view data);

PROMPTETHEUS_END_DETAIL_NAMESPACE
