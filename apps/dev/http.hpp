// The one place that includes cpp-httplib, whose client the tests and benchmarks use to talk to
// the dev server (the server itself is our own, apps/dev/http_server.hpp). Debian ships
// cpp-httplib as a compiled library built with OpenSSL, zlib and Brotli support, and those
// switches change the layout of its classes, so every translation unit must see the same three
// macros the library was built with (pkg-config cpp-httplib --cflags). Include this header
// instead of <httplib.h>, and link PkgConfig::HTTPLIB.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif

#include <httplib.h>
