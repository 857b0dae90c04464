// `mcpvm __runner DIR` (hidden): the per-VM runner process, spawned detached by `run`/`start`. It lives in
// the mcpvm binary (rather than a separate mcpvm-runner) so it shares the CLI's flag resolution (network
// flags) with `run`, and so `ls`/`rm` can recognise it in /proc by its argv: `mcpvm __runner DIR`.
#ifdef MCPVM_HAS_RUNNER  // the runner needs the vm and mcp concerns (see src/runner/CMakeLists.txt)
#include <condition_variable>
#include <mutex>
#include <thread>

#include "cli/command.h"
#include "runner/runner.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#if __has_include("cli/network_flags.h")
#include "cli/network_flags.h"
#include "net/user_network.h"
#define MCPVM_RUNNER_HAS_NET 1
#endif

namespace mcpvm::cli {
namespace {

#ifdef MCPVM_RUNNER_HAS_NET
// What one boot's network keeps alive, and its record: DIR/network.json holds the policy summary and the
// counters (docs/net.md), saved within a second of a change while the VM runs (`inspect` shows them) and
// once more when the boot ends.
struct AttachedNetwork {
  std::shared_ptr<net::UserNetwork> network;
  UniqueFd guest_fd;  // our copy of QEMU's end
  std::filesystem::path record;
  nlohmann::json summary;
  std::mutex mu;
  std::condition_variable cv;
  bool ended = false;
  std::thread saver;

  void save(const nlohmann::json& counters) const {
    try {
      write_file_atomic(record, nlohmann::json{{"summary", summary}, {"counters", counters}}.dump(2) + "\n");
    } catch (const std::exception& e) {
      log::warn("recording the network counters: {}", e.what());
    }
  }
  void start_saving() {
    saver = std::thread([this] {
      nlohmann::json last;
      std::unique_lock lock(mu);
      while (!cv.wait_for(lock, std::chrono::seconds(1), [this] { return ended; })) {
        nlohmann::json now = network->counters().to_json();
        if (now != last) save(now);
        last = std::move(now);
      }
    });
  }
  ~AttachedNetwork() {
    {
      std::lock_guard lock(mu);
      ended = true;
    }
    cv.notify_all();
    if (saver.joinable()) saver.join();
    if (network) save(network->counters().to_json());
  }
};
#endif

runner::RunnerHooks runner_hooks([[maybe_unused]] const std::filesystem::path& dir) {
  runner::RunnerHooks hooks;
#ifdef MCPVM_RUNNER_HAS_NET
  // config.vm["network_flags"] holds `run`'s network flags verbatim; they are resolved again for every
  // boot so port forwards are bound by the runner that serves them.
  hooks.attach_network = [dir](const runner::RunConfig& config, vm::VmSpec& spec) -> std::shared_ptr<void> {
    auto it = config.vm.find("network_flags");
    if (it == config.vm.end() || it->is_null()) return nullptr;
    NetworkFlags flags;
    flags.publish = it->value("publish", std::vector<std::string>{});
    flags.permission_profile = it->value("permission_profile", "");
    flags.allow_host = it->value("allow_host", std::vector<std::string>{});
    flags.allow_port = it->value("allow_port", std::vector<std::string>{});
    flags.network = it->value("network", "");
    flags.add_host = it->value("add_host", std::vector<std::string>{});
    flags.allow_host_loopback = it->value("allow_host_loopback", false);
    NetworkSetup setup = resolve_network_flags(flags, spec.guest.hostname);
    if (!setup.user_network) return nullptr;
    auto attached = std::make_shared<AttachedNetwork>();
    attached->record = dir / "network.json";
    attached->summary = setup.summary;
    attached->network = std::make_shared<net::UserNetwork>(*setup.user_network);
    attached->guest_fd = attached->network->take_guest_fd();
    spec.network_fd = attached->guest_fd.get();
    spec.guest.network = setup.guest_network;
    attached->save(nullptr);
    attached->start_saving();
    return attached;  // alive for the run
  };
#endif
  return hooks;
}

const Command kRunner{"__runner", "", 1000, [](CLI::App& app) {
                        app.group("");  // hidden: only `run`/`start` spawn it
                        auto dir = std::make_shared<std::string>();
                        app.add_option("dir", *dir, "The VM directory")->required();
                        return [dir] { return runner::run_runner(runner::VmDir(*dir), runner_hooks(*dir)); };
                      }};

}  // namespace
}  // namespace mcpvm::cli
#endif  // MCPVM_HAS_RUNNER
