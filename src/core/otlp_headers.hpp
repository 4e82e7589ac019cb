// The extra HTTP headers of an OTLP exporter, written as OpenTelemetry's
// OTEL_EXPORTER_OTLP_HEADERS is: `key1=value1,key2=value2`, values percent-encoded.
#pragma once

#include "promptetheus/export.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct OtlpHeaders {
  /// In the order given; names and values trimmed of spaces and tabs, values percent-decoded.
  std::vector<std::pair<std::string, std::string>> headers;
  /// One message per member that was left out: no `=`, an empty or invalid name, or a value
  /// with a line break or other control character once decoded (it could split the request).
  std::vector<std::string> problems;
};

/// Parses the list; empty members (",,") are skipped silently. Never throws but std::bad_alloc.
OtlpHeaders parse_otlp_headers(std::string_view list);

PROMPTETHEUS_END_DETAIL_NAMESPACE
