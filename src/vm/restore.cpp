// Vm::restore: a VM from a warm-start template (vm/template.h, docs/warm-start.md) instead of a boot.
#include <sys/random.h>
#include <time.h>

#include "guest/configure_message.h"
#include "util/error.h"
#include "util/log.h"
#include "vm/qmp.h"
#include "vm/template.h"
#include "vm/vm.h"

namespace mcpvm::vm {

namespace {

std::string fresh_entropy(size_t bytes) {
  std::string out(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::getrandom(out.data() + got, bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("getrandom");
    got += size_t(n);
  }
  return out;
}

int64_t wall_clock_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The VM's identity and configuration, the restored guest's first control frame.
std::string configure_payload(const VmSpec& spec, const Template& t) {
  guest::ConfigureMessage m;
  m.config = spec.guest;
  m.config.modules = t.deferred_modules;  // the rest were loaded before the snapshot
  m.entropy = fresh_entropy(64);
  m.unix_time_ns = wall_clock_ns();
  std::string payload = guest::encode_configure(m);
  ::explicit_bzero(m.entropy.data(), m.entropy.size());
  return payload;
}

}  // namespace

Vm Vm::restore(const VmSpec& spec) {
  preflight(spec);
  Template t = ensure_template(spec);
  WarmLaunch warm{t.ram, false, true, t.initrd};
  UniqueFd qmp_fd;
  Vm vm = launch(spec, t.kernel_cmdline, -1, &warm, &qmp_fd);
  bool loaded = false;
  try {
    QmpClient qmp(std::move(qmp_fd), std::chrono::seconds(20));
    qmp.execute(
        "migrate-set-capabilities",
        {{"capabilities", nlohmann::json::array({{{"capability", "x-ignore-shared"}, {"state", true}}})}});
    qmp.execute("migrate-incoming", {{"uri", "file:" + t.state.string()}});
    qmp.wait_for_migration(std::chrono::seconds(60));
    loaded = true;
    qmp.execute("cont");
  } catch (const Error& e) {
    vm.kill();
    vm.qemu().wait();
    std::string qemu = vm.qemu_errors();
    // A template this QEMU cannot load (truncated, foreign) is useless: the next VM builds it anew.
    if (!loaded) discard_template(t);
    fail("restoring template {}: {}{}{}", t.key.substr(0, 12), e.what(), qemu.empty() ? "" : ": ", qemu);
  }
  std::string payload = configure_payload(spec, t);
  vm.send(guest::MsgType::Configure, payload);
  ::explicit_bzero(payload.data(), payload.size());
  vm.restored_ = true;
  log::debug("warm start: restored from template {}", t.key.substr(0, 12));
  return vm;
}

}  // namespace mcpvm::vm
