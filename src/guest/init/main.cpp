// mcpvm-init: PID 1 of every mcpvm guest. It prepares the machine (mounts, modules, the image's root),
// starts the image's command the way docker would, relays its stdio over virtio-serial, and ends the VM
// when the command exits, reporting its exit code. See docs/boot.md.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "guest/config.h"
#include "guest/init/configure.h"
#include "guest/init/ports.h"
#include "guest/init/secrets.h"
#include "guest/init/server.h"
#include "guest/init/system.h"
#include "guest/init/util.h"
#include "guest/init/volumes.h"
#include "guest/net/network.h"
#include "guest/protocol.h"
#include "guest/runtime_files.h"
#include "guest/secrets_message.h"

namespace mcpvm::guest {
namespace {

int make_signalfd() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  int fd = ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) fail_sys("signalfd");
  return fd;
}

GuestConfig read_config() {
  try {
    return nlohmann::json::parse(read_whole_file(kConfigPath)).get<GuestConfig>();
  } catch (const nlohmann::json::exception& e) {
    throw SetupError(std::string("bad ") + kConfigPath + ": " + e.what());
  }
}

void provide_missing_runtime_files(const std::string& hostname) {
  try {
    provide_runtime_files("/", hostname);
  } catch (const std::runtime_error& e) {
    throw SetupError(e.what());
  }
}

void configure_network(const GuestConfig& config) {
  if (config.network.is_object()) net::configure_network(config.network);
}

// The server's launch plan; its secrets (if any) arrive now over ctl and become the top env layer.
// run_server wipes plan.env once the server is exec'ed.
LaunchPlan server_plan(Ports& ports, const GuestConfig& config) {
  LaunchOverrides secrets;
  secrets.env = receive_secrets(ports, config.secret_count, std::chrono::seconds(60));
  if (config.secret_count) console_phase("secrets received");
  try {
    LaunchPlan plan = plan_launch(config, config.hostname, secrets);
    wipe_strings(secrets.env);
    return plan;
  } catch (...) {
    wipe_strings(secrets.env);
    throw;
  }
}

[[noreturn]] void run() {
  UniqueFd sigfd(make_signalfd());
  Ports ports;
  try {
    mount_early();
    console_phase("init started");
    GuestConfig config = read_config();
    std::string module_times = load_modules(config.modules);
    console_phase("modules loaded (" + module_times + ")");
    if (config.probe) {
      console("probe: kernel and init are up");
      end_vm();
    }
    ports = open_ports(std::chrono::seconds(20));
    console_phase("ports open");
    if (config.template_wait) config = await_configuration(ports);  // warm start: restored from here
    switch_to_image_root(config);
    provide_missing_runtime_files(config.hostname);
    mount_late();
    mount_volumes(config.mounts);
    set_hostname(config.hostname);
    console_phase("image root mounted");
    configure_network(config);
    console_phase("network configured");
    LaunchPlan plan = server_plan(ports, config);
    hand_volumes_to(config.mounts, plan.user.uid, plan.user.gid);
    ServerResult result = run_server(plan, ports, sigfd.get(), config);
    nlohmann::json exit_msg = {{"code", result.code},
                               {"signal", result.signal},
                               {"stdout_bytes", result.stdout_bytes},
                               {"stderr_bytes", result.stderr_bytes}};
    send_ctl(ports, int(MsgType::Exit), exit_msg.dump());
    wait_for_shutdown(ports, int(config.drain_timeout_ms) + 5000);
  } catch (const SetupError& e) {
    console(e.what());
    if (ports.ctl)
      send_ctl(ports, int(MsgType::Error), nlohmann::json{{"message", e.what()}, {"code", e.code()}}.dump());
    if (ports.ctl) wait_for_shutdown(ports, 5000);
  } catch (const std::exception& e) {
    console(std::string("internal error: ") + e.what());
    if (ports.ctl)
      send_ctl(ports, int(MsgType::Error), nlohmann::json{{"message", e.what()}, {"code", 126}}.dump());
  }
  end_vm();
}

}  // namespace
}  // namespace mcpvm::guest

int main() {
  if (::getpid() != 1) {
    mcpvm::guest::console("must run as PID 1 of an mcpvm guest");
    return 1;
  }
  mcpvm::guest::run();
}
