// The console's static files (apps/dev/console/), compiled into the binary: the .cpp defining
// these is generated at build time by cmake/embed_console.cmake.
#pragma once

#include <cstddef>

namespace promptetheus::devserver::console_assets {

struct Asset {
  const char* path;          // "/index.html", "/console.js", "/console.css"
  const char* content_type;
  const unsigned char* data;
  std::size_t size;
};

extern const Asset kAssets[];
extern const std::size_t kAssetCount;

}  // namespace promptetheus::devserver::console_assets
