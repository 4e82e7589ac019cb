// Percent-decoding (RFC 3986 §2.1): the one reader of `%XX` escapes, for URL paths and queries
// and for OpenTelemetry's header lists.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// "%2F" → "/", either case of hex digits; a '%' not followed by two hex digits is kept as
/// written. With `plus_is_space` (an HTML form's query string) '+' is a space; in a path it is
/// itself. Never throws but std::bad_alloc.
std::string percent_decode(std::string_view text, bool plus_is_space = false);

PROMPTETHEUS_END_DETAIL_NAMESPACE
