#include "dev/request_body.hpp"

#include <cstdint>

#include <zlib.h>

#include "core/utf8.hpp"

namespace promptetheus::devserver {

namespace {

std::string content_encoding(const Request& req) {
  return lowercase(trim(req.get_header_value("Content-Encoding")));
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

std::optional<HttpError> read_body(const Request& req, const BodyLimits& limits, RawBody& out) {
  out = RawBody{};
  if (req.body == nullptr || !req.body->declared()) return std::nullopt;
  BodyReader& reader = *req.body;
  const HttpError too_large{413, "request body exceeds " + std::to_string(limits.max_wire_bytes) + " bytes"};
  const std::optional<std::uint64_t> declared = reader.declared_length();
  // Draining a body far beyond the limit would take as long as receiving it: refused unread.
  if (declared && *declared > 2 * static_cast<std::uint64_t>(limits.max_wire_bytes)) return too_large;
  // One allocation for a declared length within the limit, instead of growing chunk by chunk.
  if (declared && *declared <= limits.max_wire_bytes) out.bytes.reserve(static_cast<std::size_t>(*declared));

  std::size_t received = 0;
  bool over_limit = false;
  const bool completed = reader.read([&](const char* data, std::size_t length) {
    received += length;
    if (received > limits.max_wire_bytes) {
      over_limit = true;
      out.bytes.clear();
      out.bytes.shrink_to_fit();
      // Keep draining a moderately oversized body so the 413 arrives on a clean connection;
      // give up on a runaway one (the connection is then closed).
      return received <= 2 * limits.max_wire_bytes;
    }
    out.bytes.append(data, length);
    return true;
  });
  if (over_limit) return too_large;
  if (!completed) {
    switch (reader.failure()) {
      case BodyReader::Failure::timed_out: return HttpError{408, "request body not received in time"};
      case BodyReader::Failure::malformed: return HttpError{400, "malformed chunked request body"};
      default: return HttpError{400, "could not read request body"};
    }
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
                                           nlohmann::json& out, std::vector<WideInteger>* wide) {
  if (!body.present) {
    out = nlohmann::json::object();
    return std::nullopt;
  }
  if (auto error = check_json_shape(body.bytes, limits)) return error;
  if (wide != nullptr) {
    if (!parse_keeping_wide_integers(body.bytes, out, *wide)) {
      return HttpError{400, "malformed JSON body"};
    }
  } else {
    out = nlohmann::json::parse(body.bytes, nullptr, /*allow_exceptions=*/false);
    if (out.is_discarded()) return HttpError{400, "malformed JSON body"};
  }
  if (!out.is_object()) return HttpError{400, "request body must be a JSON object"};
  return std::nullopt;
}

std::optional<HttpError> view_json_object(const RawBody& body, const BodyLimits& limits,
                                          promptetheus::detail::JsonView& out) {
  static constexpr std::string_view kEmptyObject = "{}";
  if (!body.present) {
    out.parse(kEmptyObject);
    return std::nullopt;
  }
  if (auto error = check_json_shape(body.bytes, limits)) return error;
  // JsonView takes string bytes as they are; nlohmann, which parse_json_object uses, refuses
  // invalid UTF-8, and both routes must refuse the same bodies.
  if (!promptetheus::detail::valid_utf8(body.bytes) ||
      !out.parse(body.bytes, static_cast<int>(limits.max_json_depth))) {
    return HttpError{400, "malformed JSON body"};
  }
  if (!out.root().is(promptetheus::detail::JsonView::Kind::object)) {
    return HttpError{400, "request body must be a JSON object"};
  }
  return std::nullopt;
}

}  // namespace promptetheus::devserver
