// The per-VM initramfs, built in memory as a cpio "newc" archive: mcpvm-init as /init, the kernel
// modules it loads, and the VM's config. Nothing per-VM is ever written into the image's squashfs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "guest/config.h"
#include "vm/kernel.h"

namespace mcpvm::vm {

// Writes a cpio newc archive (the format the kernel unpacks into its initial rootfs).
class CpioWriter {
 public:
  void add_directory(std::string_view path, uint32_t mode = 0755);
  void add_file(std::string_view path, std::string_view data, uint32_t mode = 0644);
  void add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t mode = 0600);
  // Appends the TRAILER!!! entry and returns the archive.
  std::string finish();

 private:
  void add_entry(std::string_view path, uint32_t mode, std::string_view data, uint32_t rmajor = 0,
                 uint32_t rminor = 0);
  std::string out_;
  uint32_t next_ino_ = 1;
};

// The initramfs of one VM: /init, /dev/console, /mcpvm/config.json and kModulesDir/<name>.ko.
// config.modules is set here from the first `load_at_boot` of `modules` (in load order); the rest are only
// stored, for a warm-start template that loads them after restore (docs/warm-start.md).
std::string build_initramfs(const std::filesystem::path& init_binary, const std::vector<ModuleFile>& modules,
                            guest::GuestConfig config, size_t load_at_boot = SIZE_MAX);

}  // namespace mcpvm::vm
