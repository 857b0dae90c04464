#include "vm/template.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>

#include "guest/protocol.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/log.h"
#include "util/process.h"
#include "util/socket.h"
#include "vm/accel.h"
#include "vm/initramfs.h"
#include "vm/qmp.h"

namespace mcpvm::vm {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// What is known about the modules of a template: all of them (initramfs order), and how many the
// template loads before its snapshot (the rest are deferred_modules() and what only they need).
struct ModulePlan {
  std::vector<ModuleFile> files;
  size_t before_snapshot = 0;
  std::vector<std::string> deferred;  // file names, in load order
};

ModulePlan plan_modules(const VmSpec& spec) {
  std::vector<std::string> early;
  for (const auto& m : wanted_modules(spec))
    if (std::find(deferred_modules().begin(), deferred_modules().end(), m) == deferred_modules().end())
      early.push_back(m);
  ModulePlan plan;
  plan.files = resolve_modules(spec.kernel.modules_dir, early);
  plan.before_snapshot = plan.files.size();
  for (auto& m : resolve_modules(spec.kernel.modules_dir, wanted_modules(spec))) {
    bool loaded = std::any_of(plan.files.begin(), plan.files.begin() + long(plan.before_snapshot),
                              [&](const ModuleFile& f) { return f.name == m.name; });
    if (loaded) continue;
    plan.deferred.push_back(m.name + ".ko");
    plan.files.push_back(std::move(m));
  }
  return plan;
}

std::string qemu_version_memoized(const std::string& qemu_sha, const std::string& qemu_binary,
                                  const fs::path& memo_dir) {
  fs::path memo = memo_dir / ("qemu-version-" + qemu_sha);
  std::error_code ec;
  if (fs::exists(memo, ec)) return read_file(memo, 4096);
  auto r = run_command({qemu_binary, "--version"}, std::chrono::seconds(20));
  if (!r.status.exited() || r.status.code() != 0) fail("{} --version failed", qemu_binary);
  std::string line = r.out.substr(0, r.out.find('\n'));
  write_file_atomic(memo, line);
  return line;
}

TemplateInputs inputs_of(const VmSpec& spec, const ModulePlan& plan, const std::string& cmdline,
                         const fs::path& memo_dir) {
  TemplateInputs in;
  in.kernel_sha256 = file_sha256_memoized(spec.kernel.kernel, memo_dir);
  in.init_sha256 = file_sha256_memoized(init_binary_of(spec), memo_dir);
  for (const auto& m : plan.files) in.modules.emplace_back(m.name, file_sha256_memoized(m.path, memo_dir));
  std::string qemu = find_in_path(spec.qemu_binary);
  if (qemu.empty()) fail("{} not found in PATH", spec.qemu_binary);
  in.qemu_sha256 = file_sha256_memoized(qemu, memo_dir);
  in.qemu_version = qemu_version_memoized(in.qemu_sha256, qemu, memo_dir);
  in.machine = machine_shape(spec);
  in.kernel_cmdline = cmdline;
  in.memory_mib = spec.memory_mib;
  in.cpus = spec.cpus;
  // Which modules the restored guest loads is part of what it expects of the template.
  for (const auto& d : plan.deferred) in.modules.emplace_back("deferred", d);
  return in;
}

Template template_at(const fs::path& dir, const std::string& key) {
  Template t;
  t.key = key;
  t.dir = dir;
  t.ram = dir / "ram";
  t.state = dir / "state";
  t.initrd = dir / "initrd";
  return t;
}

// A published template: key.json names this key and the files are there. nullopt otherwise.
std::optional<Template> load_template(const fs::path& dir, const std::string& key) {
  std::error_code ec;
  if (!fs::exists(dir / "key.json", ec)) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(read_file(dir / "key.json", 1 << 20), nullptr, false);
  if (!j.is_object() || j.value("key", std::string()) != key) return std::nullopt;
  Template t = template_at(dir, key);
  for (const auto& f : {t.ram, t.initrd, t.state})
    if (!fs::is_regular_file(f, ec)) return std::nullopt;
  t.kernel_cmdline = j.value("kernel_cmdline", std::string());
  t.deferred_modules = j.value("deferred_modules", std::vector<std::string>());
  return t;
}

void fsync_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::fsync(fd.get()) != 0) fail_errno("fsync {}", path.string());
}

// Reads control frames until the template's init reports Configurable.
void wait_until_configurable(Vm& vm, Clock::time_point deadline) {
  guest::FrameDecoder decoder;
  for (;;) {
    if (auto st = vm.qemu().poll())
      fail("the template VM stopped ({}){}{}", st->describe(), vm.qemu_errors().empty() ? "" : ": ",
           vm.qemu_errors());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0)
      fail("the template's init did not report in time; console log: {}", vm.console_log().string());
    pollfd p{vm.ctl_fd(), POLLIN, 0};
    if (::poll(&p, 1, int(std::min<long>(left, 200))) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(vm.ctl_fd(), buf, sizeof buf);
    if (n <= 0) continue;
    decoder.feed({buf, size_t(n)});
    while (auto f = decoder.next()) {
      if (f->type == guest::MsgType::Configurable) return;
      if (f->type == guest::MsgType::Error)
        fail("the template's init failed: {}; console log: {}", f->payload, vm.console_log().string());
    }
  }
}

nlohmann::json ignore_shared_capability() {
  return {{"capabilities", nlohmann::json::array({{{"capability", "x-ignore-shared"}, {"state", true}}})}};
}

void build_template(const VmSpec& spec, const ModulePlan& plan, const std::string& cmdline,
                    const TemplateInputs& inputs, const std::string& key, const fs::path& dest) {
  auto started = Clock::now();
  TempDir work(dest.parent_path(), ".build-");
  Template t = template_at(work.path(), key);
  guest::GuestConfig config;
  config.template_wait = true;
  write_file_atomic(t.initrd,
                    build_initramfs(init_binary_of(spec), plan.files, config, plan.before_snapshot));
  // The root disk's device, with a placeholder behind it: the restoring QEMU names the image's squashfs,
  // and the guest reads its capacity only when virtio_blk (deferred) probes after restore.
  write_file_atomic(work.path() / "placeholder.img", std::string(4096, '\0'));
  write_file_atomic(t.ram, "");  // QEMU sizes it; created 0600 here rather than by QEMU with its umask

  VmSpec ts = spec;
  ts.rootfs = work.path() / "placeholder.img";
  ts.console_fd = -1;
  ts.console_log = work.path() / "console.log";
  ts.owner_tag = "mcpvm-template";
  std::pair<UniqueFd, UniqueFd> network;  // a network device needs a peer; the template sends nothing
  if (spec.network_fd >= 0) {
    network = stream_socketpair();
    ts.network_fd = network.first.get();
  }
  WarmLaunch warm{t.ram, true, false, t.initrd};
  UniqueFd qmp_fd;
  Vm vm = Vm::launch(ts, cmdline, -1, &warm, &qmp_fd);
  QmpClient qmp(std::move(qmp_fd), std::chrono::seconds(20));
  wait_until_configurable(vm, Clock::now() + spec.boot_timeout);
  auto booted = Clock::now();
  qmp.execute("stop");
  qmp.execute("migrate-set-capabilities", ignore_shared_capability());
  qmp.execute("migrate", {{"uri", "file:" + t.state.string()}});
  qmp.wait_for_migration(std::chrono::seconds(60));
  try {
    qmp.execute("quit");
  } catch (const Error&) {
    // QEMU may close the monitor before it answers.
  }
  if (!vm.wait_for(std::chrono::seconds(10))) vm.kill();
  for (const auto& f : {t.ram, t.state, t.initrd}) fsync_file(f);
  nlohmann::json meta = to_json_value(inputs);
  meta["key"] = key;
  meta["kernel_cmdline"] = cmdline;
  meta["deferred_modules"] = plan.deferred;
  write_file_atomic(work.path() / "key.json", meta.dump(2) + "\n");
  std::error_code ec;
  fs::remove_all(dest, ec);  // an incomplete or stale directory under this key
  fs::rename(work.path(), dest, ec);
  if (ec) fail("publishing template {}: {}", dest.string(), ec.message());
  fsync_dir(dest.parent_path());
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  log::info("warm start: built template {} (boot to init {} ms, save {} ms)", key.substr(0, 12),
            ms(booted - started), ms(Clock::now() - booted));
}

// QEMU 7.2's microvm restores triple-fault (docs/boot.md); 10.0 is the version measured to work. Refusing
// others up front keeps a failed template build from doubling every cold boot.
void check_qemu_restores(const std::string& version_line) {
  auto at = version_line.find("version ");
  int major = at == std::string::npos ? 0 : std::atoi(version_line.c_str() + at + 8);
  if (major < 10)
    fail("{}: warm start needs QEMU 10 or later (scripts/deps.sh installs it from bookworm-backports)",
         version_line.empty() ? "unknown QEMU version" : version_line);
}

}  // namespace

const std::vector<std::string>& deferred_modules() {
  static const std::vector<std::string> m = {"virtio_blk"};
  return m;
}

std::optional<std::string> warm_start_unsupported(const VmSpec& spec) {
  if (spec.guest.probe) return "an acceleration probe";
  if (spec.rootfs.empty()) return "no root disk";
  if (!spec.volumes.empty()) return "volumes are not part of templates yet";
  if (spec.kernel.modules_dir.empty())
    return "a kernel with virtio_blk built in (its probe, before the snapshot, would keep the placeholder's "
           "size)";
  return std::nullopt;
}

std::string machine_shape(const VmSpec& spec) {
  VmSpec s = spec;
  s.qemu_binary = "QEMU";
  s.kernel.kernel = "KERNEL";
  s.rootfs = "ROOTFS";
  s.console_fd = -1;
  s.console_log = "CONSOLE";
  s.owner_tag.clear();
  s.network_fd = spec.network_fd >= 0 ? 0 : -1;
  WarmLaunch warm{"RAM", false, false, "INITRD"};
  return join_argv(qemu_argv(s, "CMDLINE", QemuFds{}, &warm));
}

Template ensure_template(const VmSpec& spec) {
  fs::path root = ensure_mcpvm_home() / "templates";
  make_private_dirs(root);
  ModulePlan plan = plan_modules(spec);
  std::string cmdline = kernel_cmdline(spec, host_tsc_khz());
  TemplateInputs inputs = inputs_of(spec, plan, cmdline, root / "hashes");
  check_qemu_restores(inputs.qemu_version);
  std::string key = template_key(inputs);
  fs::path dir = root / key;
  if (auto t = load_template(dir, key)) return *t;
  FileLock lock(root / (key + ".lock"));
  if (auto t = load_template(dir, key)) return *t;  // another process built it meanwhile
  build_template(spec, plan, cmdline, inputs, key, dir);
  if (auto t = load_template(dir, key)) return *t;
  fail("template {} is incomplete after building it", dir.string());
}

void discard_template(const Template& t) {
  std::error_code ec;
  fs::path doomed = t.dir.parent_path() / (".discard-" + t.key);
  fs::rename(t.dir, doomed, ec);  // others restoring it keep their open files
  if (!ec) fs::remove_all(doomed, ec);
}

}  // namespace mcpvm::vm
