#include "vm/initramfs.h"

#include <sys/stat.h>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::vm {

void CpioWriter::add_entry(std::string_view path, uint32_t mode, std::string_view data, uint32_t rmajor,
                           uint32_t rminor) {
  if (path.empty() || path.front() == '/') fail("cpio: entry path must be relative: {}", path);
  if (data.size() > UINT32_MAX) fail("cpio: {} is too large", path);
  // newc header: magic + 13 eight-digit hex fields; the name (with NUL) and the data are 4-byte aligned.
  out_ += fmt::format("070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
                      next_ino_++, mode, 0, 0, 1, 0, data.size(), 0, 0, rmajor, rminor, path.size() + 1, 0);
  out_.append(path);
  out_.push_back('\0');
  out_.append((4 - out_.size() % 4) % 4, '\0');
  out_.append(data);
  out_.append((4 - out_.size() % 4) % 4, '\0');
}

void CpioWriter::add_directory(std::string_view path, uint32_t mode) {
  add_entry(path, S_IFDIR | mode, {});
}

void CpioWriter::add_file(std::string_view path, std::string_view data, uint32_t mode) {
  add_entry(path, S_IFREG | mode, data);
}

void CpioWriter::add_char_device(std::string_view path, uint32_t major, uint32_t minor, uint32_t mode) {
  add_entry(path, S_IFCHR | mode, {}, major, minor);
}

std::string CpioWriter::finish() {
  add_entry("TRAILER!!!", 0, {});
  return std::move(out_);
}

std::string build_initramfs(const std::filesystem::path& init_binary, const std::vector<ModuleFile>& modules,
                            guest::GuestConfig config, size_t load_at_boot) {
  CpioWriter cpio;
  cpio.add_directory("dev");
  // The kernel opens /dev/console of the initramfs as init's stdio, before init mounts devtmpfs.
  cpio.add_char_device("dev/console", 5, 1);
  cpio.add_directory("mcpvm", 0700);
  cpio.add_directory("mcpvm/modules", 0700);
  config.modules.clear();
  for (const auto& m : modules) {
    std::string file = m.name + ".ko";
    cpio.add_file("mcpvm/modules/" + file, with_context("reading kernel module " + m.path.string(),
                                                        [&] { return read_file(m.path, 64 << 20); }));
    if (config.modules.size() < load_at_boot) config.modules.push_back(file);
  }
  cpio.add_file("mcpvm/config.json", nlohmann::json(config).dump(), 0600);
  cpio.add_file(
      "init", with_context("reading the guest init", [&] { return read_file(init_binary, 64 << 20); }), 0755);
  return cpio.finish();
}

}  // namespace mcpvm::vm
