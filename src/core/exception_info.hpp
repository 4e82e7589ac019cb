// Describing exceptions as "<type>: <what()>", including the one unwinding through a scope.
//
// A destructor cannot see the exception that is unwinding through it. To record it anyway
// (Session, ToolCall), the library interposes the C++ runtime's __cxa_throw on GCC/Clang with
// libstdc++: each throw notes its object and type in a thread_local slot, then continues into
// the real runtime function. Nothing else changes for the host. Without that runtime the
// description falls back to "unknown exception".
#pragma once

#include "promptetheus/export.hpp"

#include <exception>
#include <string>

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE

/// The exception most recently thrown on this thread, described, or "unknown exception".
/// Call only while that exception is unwinding (std::uncaught_exceptions() grew).
std::string describe_unwinding_exception() noexcept;

/// The demangled name of the dynamic type of `e`.
std::string exception_type_name(const std::exception& e) noexcept;

PROMPTETHEUS_END_DETAIL_NAMESPACE
