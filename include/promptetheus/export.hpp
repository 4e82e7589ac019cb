// Symbol export and ABI namespace macros. Included by every public header.
#pragma once

// PROMPTETHEUS_VERSION_* macros, generated from the CMake project version.
#include "promptetheus/version.hpp"

#if defined(_WIN32) && defined(PROMPTETHEUS_SHARED)
#  if defined(promptetheus_EXPORTS)
#    define PROMPTETHEUS_API __declspec(dllexport)
#  else
#    define PROMPTETHEUS_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define PROMPTETHEUS_API __attribute__((visibility("default")))
#else
#  define PROMPTETHEUS_API
#endif

// A versioned inline namespace turns an ABI mix-up between library builds into a link error.
#define PROMPTETHEUS_BEGIN_NAMESPACE namespace promptetheus { inline namespace v0 {
#define PROMPTETHEUS_END_NAMESPACE } }

// The library's internals (`detail`) live in the same versioned namespace, so that two builds'
// internals can never be mixed either. Every declaration of `detail` goes through these macros:
// a plain `namespace promptetheus::detail` would open a second, unrelated namespace.
#define PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE namespace promptetheus { inline namespace v0 { namespace detail {
#define PROMPTETHEUS_END_DETAIL_NAMESPACE } } }
