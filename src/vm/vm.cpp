#include "vm/vm.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fstream>

#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/log.h"
#include "util/socket.h"
#include "vm/initramfs.h"
#include "vm/template.h"

namespace mcpvm::vm {

namespace {

namespace fs = std::filesystem;

UniqueFd memfd_with(const char* name, std::string_view data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) fail_errno("memfd_create");
  write_all(fd.get(), data);
  return fd;
}

uint64_t mem_available_mib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb / 1024;
  return UINT64_MAX;
}

// QEMU's option parser splits values at commas; a literal comma is written twice.
std::string qemu_opt_escape(const std::string& value) {
  std::string out;
  for (char c : value) out += c == ',' ? std::string(",,") : std::string(1, c);
  return out;
}

// One 9p server per volume (docs/volumes.md, docs/SECURITY.md). mapped-xattr: files the guest creates
// belong to QEMU's user (the invoking user) on the host, with the guest's owner and mode kept in
// user.virtfs.* xattrs, so no guest uid, setuid bit or device node ever reaches the host as such.
// multidevs=remap: a share spanning host filesystems gets distinct inode numbers in the guest. readonly=on:
// QEMU refuses every change.
void add_volume_args(std::vector<std::string>& a, const std::vector<Volume>& volumes) {
  for (size_t i = 0; i < volumes.size(); ++i) {
    const Volume& v = volumes[i];
    a.insert(a.end(),
             {"-fsdev",
              fmt::format("local,id=vol{},path={},security_model=mapped-xattr,multidevs=remap{}", i,
                          qemu_opt_escape(v.host.string()), v.read_only ? ",readonly=on" : ""),
              "-device", fmt::format("virtio-9p-device,fsdev=vol{},mount_tag={}", i, volume_tag(i))});
  }
}

}  // namespace

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  for (;;) {
    size_t end = p.find(':', start);
    std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) return "";
    start = end + 1;
  }
}

fs::path init_binary_of(const VmSpec& spec) {
  return spec.init_binary.empty() ? mcpvm_bin_dir() / "mcpvm-init" : spec.init_binary;
}

std::string kernel_cmdline(const VmSpec& spec, uint64_t tsc_khz) {
  // console on the ISA serial port (the log file); reboot=t + -no-reboot make the init's reboot end
  // QEMU at once; panic=-1 turns a guest panic into the same exit; tsc_early_khz skips a calibration
  // that stalls under TCG. ACPI stays on: the Debian kernel finds virtio-mmio devices through it.
  // cryptomgr.notests: the crypto self-tests of every built-in algorithm were the slowest initcall
  // (crypto_algapi_init: 280-660 ms of a ~2.4 s TCG boot, 3 ms without; initcall_debug, docs/boot.md).
  std::string cmdline = "console=ttyS0 reboot=t panic=-1 quiet loglevel=4 cryptomgr.notests rdinit=/init";
  if (tsc_khz > 0) cmdline += fmt::format(" tsc_early_khz={}", tsc_khz);
  if (!spec.extra_cmdline.empty()) cmdline += " " + spec.extra_cmdline;
  return cmdline;
}

std::vector<std::string> qemu_argv(const VmSpec& spec, const std::string& cmdline, const QemuFds& fds,
                                   const WarmLaunch* warm) {
  std::string accel = to_string(spec.accel);
  if (spec.accel == Accel::tcg && spec.tcg_tb_mib > 0) accel += fmt::format(",tb-size={}", spec.tcg_tb_mib);
  std::string machine = "microvm,x-option-roms=off";
  if (warm) machine += ",memory-backend=mem";
  std::string initrd = warm ? warm->initrd.string() : fmt::format("/dev/fd/{}", fds.initrd);
  // clang-format off
  // -bios qboot.rom: microvm's own minimal firmware, which loads -kernel straight from fw_cfg. QEMU 7.2's
  // Debian package makes it the default (bios-microvm.bin links to it); QEMU 10's finds seabios's microvm
  // build under that name instead, which cannot boot a kernel with x-option-roms=off (no output, ever).
  std::vector<std::string> a = {spec.qemu_binary, "-M", machine, "-bios", "qboot.rom", "-accel", accel,
                                "-cpu", spec.accel == Accel::kvm ? "host" : "max",
                                "-smp", std::to_string(spec.cpus), "-m", std::to_string(spec.memory_mib),
                                "-nodefaults", "-no-user-config", "-no-reboot", "-display", "none",
                                "-kernel", spec.kernel.kernel.string(),
                                "-initrd", initrd, "-append", cmdline};
  // clang-format on
  if (warm) {
    a.insert(a.end(),
             {"-object",
              fmt::format("memory-backend-file,id=mem,size={}M,mem-path={},share={}", spec.memory_mib,
                          qemu_opt_escape(warm->ram_file.string()), warm->ram_shared ? "on" : "off"),
              "-chardev", fmt::format("socket,id=qmp,fd={}", fds.qmp), "-mon", "chardev=qmp,mode=control"});
    if (warm->incoming) a.insert(a.end(), {"-incoming", "defer"});
  }
  // QEMU parses what a hostile guest sends with all of the user's rights: its seccomp filter refuses
  // obsolete system calls, privilege changes, spawning processes and resource control for its whole life.
  a.insert(a.end(), {"-sandbox", kQemuSandbox});
  if (!spec.owner_tag.empty()) a.insert(a.end(), {"-name", qemu_opt_escape(spec.owner_tag)});
  if (spec.console_fd >= 0) {
    a.insert(a.end(),
             {"-chardev", fmt::format("socket,id=console,fd={}", fds.console), "-serial", "chardev:console"});
  } else if (!spec.console_log.empty()) {
    a.insert(a.end(), {"-chardev", fmt::format("file,id=console,path={}", spec.console_log.string()),
                       "-serial", "chardev:console"});
  } else {
    a.insert(a.end(), {"-serial", "null"});
  }
  if (!spec.rootfs.empty()) {
    // readonly=on: every VM of an image shares the one squashfs file.
    a.insert(a.end(),
             {"-drive", fmt::format("id=root,file={},format=raw,if=none,readonly=on", spec.rootfs.string()),
              "-device", "virtio-blk-device,drive=root"});
  }
  a.insert(a.end(), {"-device", "virtio-serial-device,max_ports=8"});
  const std::pair<const char*, int> ports[] = {{guest::kCtlPort, fds.ctl},
                                               {guest::kStdinPort, fds.in},
                                               {guest::kStdoutPort, fds.out},
                                               {guest::kStderrPort, fds.err}};
  int i = 0;
  for (auto [name, fd] : ports) {
    std::string id = fmt::format("port{}", i++);
    a.insert(a.end(), {"-chardev", fmt::format("socket,id={},fd={}", id, fd), "-device",
                       fmt::format("virtserialport,chardev={},name={}", id, name)});
  }
  if (spec.network_fd >= 0) {
    a.insert(a.end(), {"-netdev", fmt::format("socket,id=net0,fd={}", fds.network), "-device",
                       "virtio-net-device,netdev=net0"});
  }
  add_volume_args(a, spec.volumes);
  return a;
}

void preflight(const VmSpec& spec) {
  if (find_in_path(spec.qemu_binary).empty())
    fail("{} not found: install QEMU (apt-get install qemu-system-x86, or `make deps`)", spec.qemu_binary);
  std::error_code ec;
  if (!fs::is_regular_file(spec.kernel.kernel, ec))
    fail("guest kernel {} not found", spec.kernel.kernel.string());
  if (!spec.kernel.modules_dir.empty() && !fs::exists(spec.kernel.modules_dir / "modules.dep", ec))
    fail("kernel modules not found in {} (run scripts/fetch-kernel.sh)", spec.kernel.modules_dir.string());
  fs::path init = init_binary_of(spec);
  if (::access(init.c_str(), R_OK) != 0)
    fail("guest init {} not found (build the mcpvm-init target)", init.string());
  if (!spec.rootfs.empty() && ::access(spec.rootfs.c_str(), R_OK) != 0)
    fail_errno("root filesystem {}", spec.rootfs.string());
  // A volume's directory may have gone since `run` (a later start): say so instead of QEMU's fsdev error.
  for (const auto& v : spec.volumes)
    if (!fs::is_directory(v.host, ec))
      fail("volume {} (at {} in the guest) is not a directory any more: recreate it or run the VM anew",
           v.host.string(), v.guest);
  if (spec.cpus == 0 || spec.cpus > 64) fail("--cpus {}: expected 1..64", spec.cpus);
  if (spec.memory_mib < 64) fail("--memory {} MiB: a VM needs at least 64 MiB", spec.memory_mib);
  if (uint64_t avail = mem_available_mib(); avail < spec.memory_mib)
    fail("not enough memory: the VM wants {} MiB, {} MiB are available (use --memory)", spec.memory_mib,
         avail);
  struct statvfs vfs;
  fs::path home = mcpvm_home();
  if (::statvfs(home.c_str(), &vfs) == 0 && uint64_t(vfs.f_bavail) * vfs.f_frsize < (16u << 20))
    fail("less than 16 MiB free in {}", home.string());
}

std::vector<std::string> wanted_modules(const VmSpec& spec) {
  if (spec.guest.probe) return {};
  std::vector<std::string> modules = base_modules();
  if (spec.network_fd >= 0) modules.insert(modules.end(), network_modules().begin(), network_modules().end());
  if (!spec.volumes.empty()) modules.insert(modules.end(), volume_modules().begin(), volume_modules().end());
  return modules;
}

bool warm_start_requested() {
  const char* v = std::getenv("MCPVM_WARM");
  return v && std::string_view(v) == "1";
}

Vm Vm::start(const VmSpec& spec) {
  if (warm_start_requested()) {
    if (auto why_not = warm_start_unsupported(spec)) {
      log::debug("warm start: {}; booting cold", *why_not);
    } else {
      try {
        return restore(spec);
      } catch (const Error& e) {
        log::warn("warm start failed, booting cold: {}", e.what());
      }
    }
  }
  return boot(spec);
}

Vm Vm::boot(const VmSpec& spec) {
  preflight(spec);
  guest::GuestConfig guest = spec.guest;
  if (!spec.volumes.empty()) guest.mounts = guest_mounts(spec.volumes);
  std::string initramfs = build_initramfs(
      init_binary_of(spec), resolve_modules(spec.kernel.modules_dir, wanted_modules(spec)), guest);
  UniqueFd initrd = memfd_with("mcpvm-initrd", initramfs);
  return launch(spec, kernel_cmdline(spec, host_tsc_khz()), initrd.get(), nullptr, nullptr);
}

Vm Vm::launch(const VmSpec& spec, const std::string& cmdline, int initrd_fd, const WarmLaunch* warm,
              UniqueFd* qmp) {
  UniqueFd qemu_err(::memfd_create("mcpvm-qemu-stderr", MFD_CLOEXEC));
  if (!qemu_err) fail_errno("memfd_create");
  if (!spec.console_log.empty() && spec.console_fd < 0) {
    UniqueFd log(::open(spec.console_log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log) fail_errno("creating console log {}", spec.console_log.string());
  }

  Vm vm;
  vm.console_log_ = spec.console_log;
  auto [ctl_host, ctl_qemu] = stream_socketpair();
  auto [in_host, in_qemu] = stream_socketpair();
  auto [out_host, out_qemu] = stream_socketpair();
  auto [err_host, err_qemu] = stream_socketpair();
  QemuFds fds;
  SpawnOptions o;
  o.stdin_null = true;
  o.stdout_null = true;
  o.fds = {{ctl_qemu.get(), fds.ctl},
           {in_qemu.get(), fds.in},
           {out_qemu.get(), fds.out},
           {err_qemu.get(), fds.err},
           {qemu_err.get(), 2}};
  if (!warm) o.fds.push_back({initrd_fd, fds.initrd});
  UniqueFd qmp_qemu;
  if (warm) {
    auto [qmp_host, qmp_side] = stream_socketpair();
    *qmp = std::move(qmp_host);
    qmp_qemu = std::move(qmp_side);
    o.fds.push_back({qmp_qemu.get(), fds.qmp});
  }
  if (spec.network_fd >= 0) o.fds.push_back({spec.network_fd, fds.network});
  if (spec.console_fd >= 0) o.fds.push_back({spec.console_fd, fds.console});
  auto argv = qemu_argv(spec, cmdline, fds, warm);
  log::debug("starting {}", join_argv(argv));
  vm.qemu_ = Subprocess::spawn(argv, o);
  for (int fd : {ctl_host.get(), in_host.get(), out_host.get(), err_host.get()})
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  vm.ctl_ = std::move(ctl_host);
  vm.stdin_ = std::move(in_host);
  vm.stdout_ = std::move(out_host);
  vm.stderr_ = std::move(err_host);
  vm.qemu_stderr_ = std::move(qemu_err);
  return vm;
}

Vm::~Vm() = default;

void Vm::close_stdin() {
  if (stdin_) ::shutdown(stdin_.get(), SHUT_WR);
}

void Vm::send(guest::MsgType type, const std::string& json_payload) {
  std::string frame = guest::encode_frame(type, json_payload);
  std::string_view rest = frame;
  while (!rest.empty()) {
    ssize_t n = ::write(ctl_.get(), rest.data(), rest.size());
    if (n > 0)
      rest.remove_prefix(size_t(n));
    else if (n < 0 && (errno == EAGAIN || errno == EINTR))
      ::usleep(1000);
    else
      fail_errno("sending a control message to the guest");
  }
  ::explicit_bzero(frame.data(), frame.size());  // a Secrets frame holds secret values
}

std::string Vm::qemu_errors() const {
  if (!qemu_stderr_) return {};
  std::string out(4096, '\0');
  ssize_t n = ::pread(qemu_stderr_.get(), out.data(), out.size(), 0);
  out.resize(n > 0 ? size_t(n) : 0);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace mcpvm::vm
