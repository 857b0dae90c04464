// `mcpvm __runner DIR` (hidden): the per-VM runner process (runner/runner.h), spawned detached by
// `run`/`start`. It lives in the mcpvm binary (rather than a separate mcpvm-runner) so `ls`/`rm` can
// recognise it in /proc by its argv: `mcpvm __runner DIR`.
#include "cli/command.h"
#include "runner/runner.h"

namespace mcpvm::cli {
namespace {

const Command kRunner{"__runner", "", 1000, [](CLI::App& app) {
                        app.group("");  // hidden: only `run`/`start` spawn it
                        auto dir = std::make_shared<std::string>();
                        app.add_option("dir", *dir, "The VM directory")->required();
                        return [dir] { return runner::run_runner(runner::VmDir(*dir)); };
                      }};

}  // namespace
}  // namespace mcpvm::cli
