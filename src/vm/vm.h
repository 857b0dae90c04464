// One QEMU microVM running an image's command under mcpvm-init.
//
//   VmSpec spec{...};              // kernel, rootfs, cpus, memory, accel, console log, guest config
//   Vm vm = Vm::start(spec);       // preflight, initramfs, QEMU launched (own process group, PDEATHSIG)
//   vm.stdin_fd() / stdout_fd() / stderr_fd()   // the server's stdio (non-blocking stream sockets)
//   vm.ctl_fd() + guest/protocol.h              // Ready, Error, Exit, Signal, Shutdown
//   vm.close_stdin();              // EOF on the server's stdin
//   vm.wait_for(timeout) / vm.kill()
// vm/attach.h drives all of this: for a foreground run (cli/cmd_run.cpp) and for each boot of a detached
// VM (runner/boot.cpp).
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "guest/config.h"
#include "guest/protocol.h"
#include "util/fd.h"
#include "util/process.h"
#include "vm/accel.h"
#include "vm/kernel.h"
#include "vm/volume.h"

namespace mcpvm::vm {

struct VmSpec {
  std::string qemu_binary = "qemu-system-x86_64";
  KernelFiles kernel;
  std::filesystem::path init_binary;  // empty: mcpvm_bin_dir()/mcpvm-init
  std::filesystem::path rootfs;       // squashfs; empty only for the acceleration probe
  unsigned cpus = 1;
  unsigned memory_mib = 512;
  Accel accel = Accel::tcg;
  // TCG's translated-code cache in MiB (-accel tcg,tb-size=N); 0 = QEMU's default (up to 1 GiB, filled as
  // code runs: an idle small VM holds ~50 MiB). A cap trades memory for speed: node's first MCP answer took
  // 21 s uncapped, 25 s at 64, 35 s at 32, 70 s at 8 (docs/runner.md). Ignored under KVM.
  // MCPVM_TCG_TB_MIB sets it.
  unsigned tcg_tb_mib = 0;
  std::filesystem::path console_log;  // kernel console (created 0600); empty: discarded
  // Instead of a file QEMU writes itself: a connected stream socket the console goes to (the runner
  // drains it into a size-capped, rotated log). console_log then only names that log in messages.
  int console_fd = -1;
  // Put on QEMU's command line (-name) so a /proc scan can tell which VM a QEMU belongs to (the runner
  // passes its VM directory; with console_fd no other argument names it).
  std::string owner_tag;
  guest::GuestConfig guest;
  int network_fd = -1;          // a connected stream socket: -netdev socket (4-byte length frames)
  std::vector<Volume> volumes;  // host directories shared over virtio-9p (vm/volume.h)
  std::chrono::milliseconds boot_timeout{60000};  // Ready must arrive by then (enforced by the driver)
  std::string extra_cmdline;
};

// How a warm-start template is made and restored (docs/warm-start.md): guest RAM lives in a file, and a
// restoring QEMU waits for its device state instead of booting. Identical QEMU arguments otherwise.
struct WarmLaunch {
  std::filesystem::path ram_file;  // -object memory-backend-file (the template's RAM image)
  // Template: share=on, the guest's writes reach the file. Restore: share=off, the file is mapped private
  // (pages stay shared through the page cache until the guest writes them).
  bool ram_shared = false;
  bool incoming = false;         // -incoming defer: restored over QMP (migrate-incoming)
  std::filesystem::path initrd;  // the template's initramfs, by path (the same bytes for both sides)
};

// QEMU's -sandbox (seccomp) setting for every VM (docs/SECURITY.md).
inline constexpr const char* kQemuSandbox =
    "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny";

// What QEMU needs, as fd numbers in QEMU's process.
struct QemuFds {
  int ctl = 3, in = 4, out = 5, err = 6, initrd = 7, network = 8, console = 9, qmp = 10;
};

// The kernel command line and the QEMU argv for a spec (pure: unit-tested).
std::string kernel_cmdline(const VmSpec& spec, uint64_t tsc_khz);
// With `warm`: guest RAM in its file, the initrd by path, QMP on fds.qmp, and -incoming defer if asked.
std::vector<std::string> qemu_argv(const VmSpec& spec, const std::string& cmdline, const QemuFds& fds = {},
                                   const WarmLaunch* warm = nullptr);

// The modules of a VM of this spec, in load order (dependencies first).
std::vector<std::string> wanted_modules(const VmSpec& spec);

// Whether MCPVM_WARM=1 asks for warm start (restore from a template; off by default, docs/warm-start.md).
bool warm_start_requested();

// The executable `name` runs as: itself when it has a slash, else the first match in PATH; "" if none.
std::string find_in_path(const std::string& name);

// The guest init binary the VM boots (spec.init_binary, else mcpvm-init beside mcpvm).
std::filesystem::path init_binary_of(const VmSpec& spec);

// Checks what a VM needs before launching one; throws Error naming the first missing piece.
void preflight(const VmSpec& spec);

class Vm {
 public:
  // Boots the VM. With warm start requested (and a spec it supports) the VM is restored from a template
  // instead (vm/template.h, built on first need); any failure there falls back to a cold boot with one
  // warning line.
  static Vm start(const VmSpec& spec);
  // Always boots cold.
  static Vm boot(const VmSpec& spec);
  // Restores from the template (built on first need) and sends the Configure message. Throws Error.
  static Vm restore(const VmSpec& spec);

  Vm(Vm&&) = default;
  Vm& operator=(Vm&&) = default;
  ~Vm();

  int ctl_fd() const { return ctl_.get(); }
  int stdin_fd() const { return stdin_.get(); }
  int stdout_fd() const { return stdout_.get(); }
  int stderr_fd() const { return stderr_.get(); }
  // EOF on the server's stdin. A half-close (SHUT_WR), not close(): QEMU's socket chardev treats a
  // hang-up as a disconnect and drops whatever it had not yet read, while a half-close lets it read
  // everything and then see the end.
  void close_stdin();

  // Sends one control message (blocking until written).
  void send(guest::MsgType type, const std::string& json_payload = "{}");

  pid_t qemu_pid() const { return qemu_.pid(); }
  Subprocess& qemu() { return qemu_; }
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout) { return qemu_.wait_for(timeout); }
  void kill() { qemu_.kill(SIGKILL); }
  // What QEMU printed on stderr (its own errors), for messages.
  std::string qemu_errors() const;
  const std::filesystem::path& console_log() const { return console_log_; }
  // True when this VM was restored from a warm-start template rather than booted.
  bool restored() const { return restored_; }

  // The common part of boot, template building and restore (vm/template.cpp, vm/restore.cpp): starts
  // QEMU with the VM's ports; with `warm`, its RAM file, its initrd path and QMP (returned in *qmp).
  // initrd_fd is used without `warm` only.
  static Vm launch(const VmSpec& spec, const std::string& cmdline, int initrd_fd, const WarmLaunch* warm,
                   UniqueFd* qmp);

 private:
  Vm() = default;
  Subprocess qemu_;
  UniqueFd ctl_, stdin_, stdout_, stderr_, qemu_stderr_;
  std::filesystem::path console_log_;
  bool restored_ = false;
};

}  // namespace mcpvm::vm
