// `promptetheus version` (contract §6.1). The reference CLI prints only its own version; that
// output stays available as `version --reference` for scripts written against it.
#include <CLI/CLI.hpp>

#include <memory>

#include "cli_common.hpp"
#include "promptetheus/client.hpp"

namespace promptetheus::cli {

void add_version_command(CLI::App& app, ExitCode& rc) {
  auto reference_only = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("version", "Print the SDK's version and the reference CLI version it matches");
  cmd->add_flag("--reference", *reference_only,
                "Print only the reference CLI version this CLI's output is compatible with (the reference's output)");
  cmd->callback([reference_only, &rc] {
    if (*reference_only) {
      print_line(kReferenceVersion);
    } else {
      print_line(std::string("promptetheus-cpp ") + promptetheus::version());
      print_line(std::string("compatible with the promptetheus reference CLI ") + kReferenceVersion);
    }
    rc.value = 0;
  });
}

}  // namespace promptetheus::cli
