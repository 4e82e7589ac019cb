#include "core/exception_info.hpp"

#include <cxxabi.h>
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <typeinfo>

#include "promptetheus/wrappers.hpp"

PROMPTETHEUS_BEGIN_DETAIL_NAMESPACE
namespace {

struct ThrownRecord {
  void* object = nullptr;
  std::type_info* type = nullptr;
};
thread_local ThrownRecord t_last_thrown;  // trivially destructible: safe at thread exit

std::string demangle(const char* name) {
  int status = 0;
  // Freed also when copying it runs out of memory.
  std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return (status == 0 && demangled) ? std::string(demangled.get()) : std::string(name);
}

}  // namespace

std::string exception_type_name(const std::exception& e) noexcept {
  try {
    return demangle(typeid(e).name());
  } catch (...) {
    return "std::exception";
  }
}

std::string describe_unwinding_exception() noexcept {
  try {
    ThrownRecord record = t_last_thrown;
    if (!record.type) return "unknown exception";
    std::string type = demangle(record.type->name());
#if defined(__GLIBCXX__)
    // Is the thrown object a std::exception? Ask the type_info the way a catch clause would.
    void* adjusted = record.object;
    const std::type_info& base = typeid(std::exception);
    if (base.__do_catch(record.type, &adjusted, 1)) {
      return type + ": " + static_cast<const std::exception*>(adjusted)->what();
    }
#endif
    return type;
  } catch (...) {
  }
  try {
    return "unknown exception";
  } catch (...) {
    return std::string();  // out of memory
  }
}

PROMPTETHEUS_END_DETAIL_NAMESPACE

#if defined(__GLIBCXX__) && !defined(PROMPTETHEUS_NO_THROW_CAPTURE)
namespace __cxxabiv1 {
extern "C" {
// Notes the exception, then hands over to the runtime's own __cxa_throw (found once via
// RTLD_NEXT). If it cannot be found the process could not throw at all, so terminate.
__attribute__((visibility("default"))) void __cxa_throw(void* object, std::type_info* type,
                                                        void (*destructor)(void*)) {
  using RealThrow = void (*)(void*, std::type_info*, void (*)(void*));
  static RealThrow real = reinterpret_cast<RealThrow>(dlsym(RTLD_NEXT, "__cxa_throw"));
  promptetheus::detail::t_last_thrown = {object, type};
  if (!real) std::terminate();
  real(object, type, destructor);
  __builtin_unreachable();
}
}
}  // namespace __cxxabiv1
#endif

namespace promptetheus {
inline namespace v0 {

std::string describe_exception(const std::exception_ptr& exception) noexcept {
  // Building the description allocates, in the handlers too: out of memory, it is empty.
  try {
    if (!exception) return "unknown exception";
    try {
      std::rethrow_exception(exception);
    } catch (const std::exception& e) {
      return detail::exception_type_name(e) + ": " + e.what();
    } catch (const std::string& s) {
      return "std::string: " + s;
    } catch (const char* s) {
      return std::string("const char*: ") + (s ? s : "");
    } catch (...) {
#if defined(__GLIBCXX__)
      if (const std::type_info* t = abi::__cxa_current_exception_type()) return detail::demangle(t->name());
#endif
    }
    return "unknown exception";
  } catch (...) {
    return std::string();
  }
}

}  // namespace v0
}  // namespace promptetheus
