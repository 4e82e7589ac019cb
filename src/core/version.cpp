// promptetheus::version(): the version this library was built as (promptetheus/version.hpp).
#include "promptetheus/client.hpp"
#include "promptetheus/version.hpp"

namespace promptetheus {
inline namespace v0 {

const char* version() noexcept { return PROMPTETHEUS_VERSION_STRING; }

}  // namespace v0
}  // namespace promptetheus
