// SHA-256 (FIPS 180-4): failure fingerprints, hashed redaction placeholders, sampling fractions.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Lowercase hex digest of `data`.
std::string sha256_hex(std::string_view data);

PROMPTETHEUS_END_DETAIL_NAMESPACE
