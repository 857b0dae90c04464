// What a warm-start template's memory image depends on, and the key that names it (docs/warm-start.md).
// A template is only ever restored into a VM whose inputs hash to the same key; the key is computed from
// file contents (kernel, init, modules, QEMU binary), never from names, so a rebuilt init or an upgraded
// QEMU makes a new template instead of restoring a stale one.
#pragma once

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mcpvm::vm {

inline constexpr int kTemplateFormat = 1;

struct TemplateInputs {
  int format = kTemplateFormat;
  std::string kernel_sha256;
  std::string init_sha256;
  std::vector<std::pair<std::string, std::string>> modules;  // (file name, sha256), in initramfs order
  std::string qemu_sha256;                                   // the binary PATH resolves to
  std::string qemu_version;                                  // its `--version` line
  std::string machine;  // the QEMU arguments that shape the machine (vm/warm_start.cpp machine_shape)
  std::string kernel_cmdline;
  unsigned memory_mib = 0;
  unsigned cpus = 0;
};

nlohmann::json to_json_value(const TemplateInputs& inputs);

// SHA-256 (hex) of the canonical JSON of the inputs.
std::string template_key(const TemplateInputs& inputs);

// SHA-256 of a file's contents, remembered under `memo_dir` by (device, inode, size, mtime, ctime) so that
// the 60 MB kernel is not re-read on every run. A changed file gets a new stat identity, hence a fresh hash.
std::string file_sha256_memoized(const std::filesystem::path& file, const std::filesystem::path& memo_dir);

}  // namespace mcpvm::vm
