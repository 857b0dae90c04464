#include "vm/accel.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fd.h"
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
  return Sha256::hex(
      fmt::format("{}|{}|{}|{}", kernel.kernel.string(), size, mtime, qemu_version(qemu_binary)));
}

uint64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace

std::string to_string(Accel a) {
  return a == Accel::kvm ? "kvm" : "tcg";
}

std::optional<Accel> parse_accel(std::string_view s) {
  if (s.empty() || s == "auto") return std::nullopt;
  if (s == "kvm") return Accel::kvm;
  if (s == "tcg") return Accel::tcg;
  fail("MCPVM_ACCEL={}: expected auto, kvm or tcg", s);
}

ProbeOutcome probe_accel(const KernelFiles& kernel, const std::string& qemu_binary, Accel accel,
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
  ProbeOutcome outcome;
  auto started = std::chrono::steady_clock::now();
  try {
    Vm vm = Vm::start(spec);
    auto status = vm.wait_for(deadline);  // on timeout the Vm's destructor kills QEMU
    outcome.booted =
        status && read_file(spec.console_log).find("probe: kernel and init are up") != std::string::npos;
  } catch (const Error& e) {
    log::debug("acceleration probe ({}): {}", to_string(accel), e.what());
  }
  outcome.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return outcome;
}

bool kvm_is_usable(const ProbeOutcome& outcome, std::chrono::milliseconds deadline) {
  return outcome.booted && outcome.elapsed <= deadline;
}

namespace {

// The cached verdict for `key`, if the entry is well-formed ("kvm"/"tcg", or an older plain string).
std::optional<Accel> cached_verdict(const nlohmann::json& cache, const std::string& key) {
  auto it = cache.find(key);
  if (it == cache.end()) return std::nullopt;
  const nlohmann::json& v = it->is_object() ? it->value("accel", nlohmann::json()) : *it;
  if (v == "kvm") return Accel::kvm;
  if (v == "tcg") return Accel::tcg;
  return std::nullopt;
}

AccelChoice probe_and_cache(const AccelHost& host, const std::string& key) {
  // One probe at a time: concurrent `run`s wait for the first one's verdict instead of booting their own.
  std::optional<FileLock> lock;
  try {
    lock.emplace(host.cache_file.string() + ".lock");
  } catch (const Error& e) {
    log::debug("no lock for the KVM probe: {}", e.what());  // probing unlocked only costs a double probe
  }
  nlohmann::json cache = read_json_or_empty(host.cache_file);
  AccelChoice c;
  if (auto hit = cached_verdict(cache, key)) {
    c.accel = *hit;
    c.source = AccelChoice::Source::cache;
  } else {
    ProbeOutcome outcome = host.probe_kvm(host.probe_deadline);
    c.accel = kvm_is_usable(outcome, host.probe_deadline) ? Accel::kvm : Accel::tcg;
    c.source = AccelChoice::Source::probe;
    if (c.accel == Accel::tcg)
      c.warning = fmt::format(
          "KVM is present but the kernel did not boot under it within {} s (the probe ended "
          "after {} ms: nested virtualization, or QEMU could not use KVM): using TCG emulation",
          host.probe_deadline.count() / 1000.0, outcome.elapsed.count());
    cache[key] = {
        {"accel", to_string(c.accel)}, {"probe_ms", outcome.elapsed.count()}, {"booted", outcome.booted}};
    try {
      write_file_atomic(host.cache_file, cache.dump(2) + "\n");
    } catch (const Error& e) {
      log::warn("could not save the KVM probe's verdict ({}): the next run probes again", e.what());
    }
  }
  if (c.accel == Accel::tcg && c.source == AccelChoice::Source::cache)
    c.warning = fmt::format("KVM was found unusable here earlier (cached in {}): using TCG emulation",
                            host.cache_file.string());
  return c;
}

}  // namespace

AccelChoice decide_accel(std::optional<std::string> requested, const AccelHost& host) {
  AccelChoice c;
  if (auto forced = parse_accel(requested.value_or("auto"))) {
    if (*forced == Accel::kvm)
      if (int err = host.kvm_access())
        fail(
            "MCPVM_ACCEL=kvm, but /dev/kvm cannot be opened ({}): load the kvm module and give this user "
            "access to /dev/kvm, or use MCPVM_ACCEL=auto (falls back to TCG)",
            std::strerror(err));
    c.accel = *forced;
    return c;
  }
  if (int err = host.kvm_access()) {
    c.source = AccelChoice::Source::no_kvm;
    c.warning = fmt::format("KVM is not available (/dev/kvm: {}): using TCG emulation, VMs will be slow",
                            std::strerror(err));
    return c;
  }
  return probe_and_cache(host, host.cache_key());
}

AccelHost real_accel_host(const KernelFiles& kernel, const std::string& qemu_binary) {
  AccelHost h;
  h.kvm_access = [] {
    UniqueFd fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    return fd ? 0 : errno;
  };
  h.cache_key = [kernel, qemu_binary] { return accel_cache_key(kernel, qemu_binary); };
  h.probe_kvm = [kernel, qemu_binary](std::chrono::milliseconds deadline) {
    return probe_accel(kernel, qemu_binary, Accel::kvm, deadline);
  };
  h.cache_file = cache_file("accel.json");
  return h;
}

Accel choose_accel(const KernelFiles& kernel, const std::string& qemu_binary,
                   std::optional<std::string> requested) {
  if (!requested)
    if (const char* env = std::getenv("MCPVM_ACCEL")) requested = env;
  AccelChoice c = decide_accel(requested, real_accel_host(kernel, qemu_binary));
  if (!c.warning.empty()) log::warn("{}", c.warning);
  return c.accel;
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
