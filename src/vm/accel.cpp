#include "vm/accel.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/log.h"
#include "util/process.h"
#include "util/sha256.h"
#include "vm/vm.h"

namespace mcpvm::vm {

namespace {

namespace fs = std::filesystem;

fs::path cache_file(const char* name) {
  fs::path dir = ensure_mcpvm_home() / "kernel";
  make_private_dirs(dir);
  return dir / name;
}

nlohmann::json read_json_or_empty(const fs::path& path) {
  try {
    auto j = nlohmann::json::parse(read_file(path, 1 << 20));
    return j.is_object() ? j : nlohmann::json::object();
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

std::string qemu_version(const std::string& qemu_binary) {
  auto r = run_command({qemu_binary, "--version"}, std::chrono::seconds(10));
  return r.out.substr(0, r.out.find('\n'));
}

std::string accel_cache_key(const KernelFiles& kernel, const std::string& qemu_binary) {
  std::error_code ec;
  auto size = fs::file_size(kernel.kernel, ec);
  auto mtime = fs::last_write_time(kernel.kernel, ec).time_since_epoch().count();
  return Sha256::hex(fmt::format("{}|{}|{}|{}", kernel.kernel.string(), size, mtime, qemu_version(qemu_binary)));
}

uint64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

std::string to_string(Accel a) { return a == Accel::kvm ? "kvm" : "tcg"; }

std::optional<Accel> parse_accel(std::string_view s) {
  if (s.empty() || s == "auto") return std::nullopt;
  if (s == "kvm") return Accel::kvm;
  if (s == "tcg") return Accel::tcg;
  fail("MCPVM_ACCEL={}: expected auto, kvm or tcg", s);
}

bool probe_accel(const KernelFiles& kernel, const std::string& qemu_binary, Accel accel,
                 std::chrono::milliseconds deadline) {
  TempDir dir(ensure_mcpvm_home());
  VmSpec spec;
  spec.qemu_binary = qemu_binary;
  spec.kernel = kernel;
  spec.accel = accel;
  spec.memory_mib = 256;
  spec.console_log = dir.path() / "console.log";
  spec.guest.probe = true;
  spec.boot_timeout = deadline;
  try {
    Vm vm = Vm::start(spec);
    auto status = vm.wait_for(deadline);
    if (!status) return false;
    return read_file(spec.console_log).find("probe: kernel and init are up") != std::string::npos;
  } catch (const Error& e) {
    log::debug("acceleration probe ({}): {}", to_string(accel), e.what());
    return false;
  }
}

Accel choose_accel(const KernelFiles& kernel, const std::string& qemu_binary, std::optional<std::string> requested) {
  if (!requested)
    if (const char* env = std::getenv("MCPVM_ACCEL")) requested = env;
  if (auto forced = parse_accel(requested.value_or("auto"))) {
    if (*forced == Accel::kvm && ::access("/dev/kvm", R_OK | W_OK) != 0)
      fail_errno("MCPVM_ACCEL=kvm: cannot use /dev/kvm");
    return *forced;
  }
  if (::access("/dev/kvm", R_OK | W_OK) != 0) {
    log::warn("KVM is not available (/dev/kvm: {}): using TCG emulation, VMs will be slow", std::strerror(errno));
    return Accel::tcg;
  }
  fs::path cache = cache_file("accel.json");
  std::string key = accel_cache_key(kernel, qemu_binary);
  auto verdicts = read_json_or_empty(cache);
  if (verdicts.contains(key) && verdicts[key].is_string()) {
    Accel a = verdicts[key] == "kvm" ? Accel::kvm : Accel::tcg;
    if (a == Accel::tcg) log::warn("KVM was found unusable here earlier (cached in {}): using TCG", cache.string());
    return a;
  }
  bool kvm_ok = probe_accel(kernel, qemu_binary, Accel::kvm, std::chrono::seconds(5));
  if (!kvm_ok)
    log::warn("KVM is present but did not boot the kernel within 5 s (nested virtualization?): using TCG");
  verdicts[key] = kvm_ok ? "kvm" : "tcg";
  write_file_atomic(cache, verdicts.dump(2));
  return kvm_ok ? Accel::kvm : Accel::tcg;
}

uint64_t measure_tsc_khz(std::chrono::milliseconds span) {
  uint64_t t0 = monotonic_ns();
  uint64_t c0 = __rdtsc();
  uint64_t target = t0 + uint64_t(std::chrono::nanoseconds(span).count());
  uint64_t t1;
  while ((t1 = monotonic_ns()) < target) {
  }
  uint64_t c1 = __rdtsc();
  return (c1 - c0) * 1000000ull / (t1 - t0);  // cycles per ms = kHz
}

uint64_t host_tsc_khz() {
  std::string boot_id;
  try {
    boot_id = read_file("/proc/sys/kernel/random/boot_id", 256);
  } catch (const Error&) {
  }
  fs::path cache = cache_file("tsc.json");
  auto j = read_json_or_empty(cache);
  if (!boot_id.empty() && j.value("boot_id", "") == boot_id && j.value("khz", uint64_t(0)) > 0)
    return j["khz"].get<uint64_t>();
  uint64_t khz = measure_tsc_khz();
  if (!boot_id.empty()) write_file_atomic(cache, nlohmann::json{{"boot_id", boot_id}, {"khz", khz}}.dump());
  return khz;
}

}  // namespace mcpvm::vm
