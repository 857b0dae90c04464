#include "runner/vm_spec_json.h"

#include "util/error.h"

namespace mcpvm::runner {

using nlohmann::json;

json spec_to_json(const vm::VmSpec& spec) {
  return {{"qemu_binary", spec.qemu_binary},
          {"kernel",
           {{"kernel", spec.kernel.kernel.string()},
            {"modules_dir", spec.kernel.modules_dir.string()},
            {"version", spec.kernel.version}}},
          {"init_binary", spec.init_binary.string()},
          {"rootfs", spec.rootfs.string()},
          {"cpus", spec.cpus},
          {"memory_mib", spec.memory_mib},
          {"accel", vm::to_string(spec.accel)},
          {"tcg_tb_mib", spec.tcg_tb_mib},
          {"guest", spec.guest},
          {"boot_timeout_ms", spec.boot_timeout.count()},
          {"extra_cmdline", spec.extra_cmdline}};
}

vm::VmSpec spec_from_json(const json& j) {
  try {
    if (!j.is_object()) fail("not an object");
    vm::VmSpec s;
    s.qemu_binary = j.value("qemu_binary", s.qemu_binary);
    const json& k = j.at("kernel");
    s.kernel.kernel = k.at("kernel").get<std::string>();
    s.kernel.modules_dir = k.value("modules_dir", "");
    s.kernel.version = k.value("version", "");
    s.init_binary = j.value("init_binary", "");
    s.rootfs = j.at("rootfs").get<std::string>();
    s.cpus = j.value("cpus", s.cpus);
    s.memory_mib = j.value("memory_mib", s.memory_mib);
    auto accel = vm::parse_accel(j.value("accel", "tcg"));
    if (!accel) fail("unknown accel {}", j.value("accel", ""));
    s.accel = *accel;
    s.tcg_tb_mib = j.value("tcg_tb_mib", s.tcg_tb_mib);
    s.guest = j.at("guest").get<guest::GuestConfig>();
    s.boot_timeout = std::chrono::milliseconds(j.value("boot_timeout_ms", int64_t(60000)));
    s.extra_cmdline = j.value("extra_cmdline", "");
    if (s.guest.argv.empty()) fail("the guest command is empty");
    return s;
  } catch (const json::exception& e) {
    fail("the saved VM spec is invalid: {}", e.what());
  }
}

}  // namespace mcpvm::runner
