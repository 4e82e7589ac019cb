// Records one session into the spool directory given as argv[1] and checks it was written; also
// redacts an event (the policy code links PCRE2, which a static consumer must then link too).
#include <promptetheus/policy.hpp>
#include <promptetheus/promptetheus.hpp>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  // The library found at run time is the one whose headers were installed with it.
  if (std::strcmp(promptetheus::version(), PROMPTETHEUS_VERSION_STRING) != 0) return 6;
  const nlohmann::json event = {{"type", "user_message"}, {"payload", {{"content", "mail jo@example.com"}}}};
  if (promptetheus::policy::redact(event)["payload"]["content"] != "mail [REDACTED]") return 7;
  promptetheus::Options options;
  options.transport = promptetheus::TransportMode::spool;
  options.spool_dir = argv[1];
  if (!promptetheus::init(options).ok()) return 3;
  {
    promptetheus::Session session("consumer", "link against the installed package");
    session.user_message("hello");
  }
  if (!promptetheus::shutdown()) return 4;
  auto stats = promptetheus::stats();
  std::printf("spooled %llu\n", static_cast<unsigned long long>(stats.spooled));
  return stats.spooled == 3 ? 0 : 5;
}
