// One reusable deflate stream writing gzip (mtime 0, so equal input gives equal bytes): the
// request bodies of the HTTP and OTLP transports.
#pragma once

#include "promptetheus/export.hpp"

#include <memory>
#include <string>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// Not thread-safe: one per sending thread. Never throws but std::bad_alloc.
class GzipStream {
 public:
  explicit GzipStream(int level = 1);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  /// Replaces `out` with the gzip of `in`. False when zlib failed (then send `in` as it is).
  bool compress(const std::string& in, std::string& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

PROMPTETHEUS_END_DETAIL_NAMESPACE
