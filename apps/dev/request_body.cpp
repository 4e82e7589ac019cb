#include "dev/request_body.hpp"

#include <algorithm>
#include <cctype>

#include <zlib.h>

namespace promptetheus::devserver {

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

namespace {


bool declares_body(const httplib::Request& req) {
  if (lowercase(req.get_header_value("Transfer-Encoding")).find("chunked") != std::string::npos) {
    return true;
  }
  const std::string length = trim(req.get_header_value("Content-Length"));
  return !length.empty() && length.find_first_not_of('0') != std::string::npos;
}

std::string content_encoding(const httplib::Request& req) {
  return lowercase(trim(req.has_header(kOriginalContentEncodingHeader)
                            ? req.get_header_value(kOriginalContentEncodingHeader)
                            : req.get_header_value("Content-Encoding")));
}

// One pass over the text, outside strings, counting nesting depth and values. nlohmann's parser
// is iterative, but the values it builds cost ~16 bytes each plus allocations, and later
// traversals (dump) recurse, so both are bounded before parsing.
std::optional<HttpError> check_json_shape(const std::string& text, const BodyLimits& limits) {
  std::size_t depth = 0;
  std::size_t values = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"': in_string = true; break;
      case '[':
      case '{':
        if (++depth > limits.max_json_depth) {
          return HttpError{400, "JSON body is nested deeper than " +
                                    std::to_string(limits.max_json_depth) + " levels"};
        }
        ++values;
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      case ',': ++values; break;
      default: break;
    }
    if (values > limits.max_json_values) {
      return HttpError{400, "JSON body has more than " + std::to_string(limits.max_json_values) +
                                " values"};
    }
  }
  return std::nullopt;
}

}  // namespace

GunzipResult gunzip_bounded(const std::string& compressed, std::size_t max_output,
                            std::string& out) {
  out.clear();
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return GunzipResult::malformed;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());  // bodies are capped far below 4 GiB

  GunzipResult result = GunzipResult::malformed;
  char buffer[64 * 1024];
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    const std::size_t produced = sizeof buffer - stream.avail_out;
    if (out.size() + produced > max_output) {
      result = GunzipResult::too_large;
      break;
    }
    out.append(buffer, produced);
    if (rc == Z_STREAM_END) {
      if (stream.avail_in == 0) {
        result = GunzipResult::ok;
        break;
      }
      // Another gzip member follows (concatenated gzip files are one valid stream).
      if (inflateReset(&stream) != Z_OK) break;
      continue;
    }
    if (rc != Z_OK) break;  // data error, or Z_BUF_ERROR: the input ended inside a member
    if (stream.avail_in == 0 && produced == 0) break;
  }
  inflateEnd(&stream);
  if (result != GunzipResult::ok) out.clear();
  return result;
}

std::optional<HttpError> read_body(const httplib::Request& req, const httplib::ContentReader& reader,
                                   const BodyLimits& limits, RawBody& out) {
  out = RawBody{};
  if (!declares_body(req)) return std::nullopt;
  // One allocation for a declared length within the limit, instead of growing chunk by chunk.
  if (req.has_header("Content-Length")) {
    const auto declared = req.get_header_value<std::uint64_t>("Content-Length");
    if (declared <= limits.max_wire_bytes) out.bytes.reserve(static_cast<std::size_t>(declared));
  }

  std::size_t received = 0;
  bool too_large = false;
  const bool completed = reader([&](const char* data, std::size_t length) {
    received += length;
    if (received > limits.max_wire_bytes) {
      too_large = true;
      out.bytes.clear();
      out.bytes.shrink_to_fit();
      // Keep draining a moderately oversized body so the 413 arrives on a clean connection;
      // give up on a runaway one (the connection is then closed).
      return received <= 2 * limits.max_wire_bytes;
    }
    out.bytes.append(data, length);
    return true;
  });
  if (too_large || (!completed && received > limits.max_wire_bytes)) {
    return HttpError{413, "request body exceeds " + std::to_string(limits.max_wire_bytes) + " bytes"};
  }
  if (!completed) {
    // cpp-httplib refuses a declared Content-Length above its own cap without reading it.
    if (req.has_header("Content-Length") &&
        req.get_header_value<std::uint64_t>("Content-Length") > limits.max_wire_bytes) {
      return HttpError{413,
                       "request body exceeds " + std::to_string(limits.max_wire_bytes) + " bytes"};
    }
    return HttpError{400, "could not read request body"};
  }

  const std::string encoding = content_encoding(req);
  if (encoding.find("gzip") != std::string::npos) {
    std::string decoded;
    switch (gunzip_bounded(out.bytes, limits.max_decoded_bytes, decoded)) {
      case GunzipResult::ok: out.bytes.swap(decoded); break;
      case GunzipResult::malformed: return HttpError{400, "malformed gzip body"};
      case GunzipResult::too_large:
        return HttpError{413, "decompressed request body exceeds " +
                                  std::to_string(limits.max_decoded_bytes) + " bytes"};
    }
  } else if (!encoding.empty() && encoding != "identity") {
    return HttpError{415, "unsupported content-encoding: " + encoding};
  }
  out.present = true;
  return std::nullopt;
}

std::optional<HttpError> parse_json_object(const RawBody& body, const BodyLimits& limits,
                                           nlohmann::json& out) {
  if (!body.present) {
    out = nlohmann::json::object();
    return std::nullopt;
  }
  if (auto error = check_json_shape(body.bytes, limits)) return error;
  out = nlohmann::json::parse(body.bytes, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded()) return HttpError{400, "malformed JSON body"};
  if (!out.is_object()) return HttpError{400, "request body must be a JSON object"};
  return std::nullopt;
}

}  // namespace promptetheus::devserver
