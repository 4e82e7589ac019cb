#include "transport/gzip_stream.hpp"

#include <algorithm>

#include <zlib.h>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

struct GzipStream::State {
  z_stream zs{};
  bool ready = false;
};

GzipStream::GzipStream(int level) : state_(std::make_unique<State>()) {
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  state_->ready = deflateInit2(&state_->zs, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

GzipStream::~GzipStream() {
  if (state_->ready) deflateEnd(&state_->zs);
}

bool GzipStream::compress(const std::string& in, std::string& out) {
  z_stream& zs = state_->zs;
  if (!state_->ready || deflateReset(&zs) != Z_OK) return false;
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) return false;
  out.resize(out.size() - zs.avail_out);
  return true;
}

PROMPTETHEUS_END_DETAIL_NAMESPACE
