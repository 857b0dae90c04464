#include "vm/kernel.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <unordered_map>

#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"

namespace mcpvm::vm {

namespace {

namespace fs = std::filesystem;

std::string module_name(std::string_view path) {
  auto slash = path.rfind('/');
  std::string base(slash == std::string_view::npos ? path : path.substr(slash + 1));
  base = base.substr(0, base.find(".ko"));
  std::replace(base.begin(), base.end(), '-', '_');
  return base;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// A cache entry made by fetch-kernel.sh: DIR/{vmlinux,version,lib/modules/<version>}.
std::optional<KernelFiles> from_cache_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir / "vmlinux", ec) || !fs::exists(dir / "version", ec)) return std::nullopt;
  KernelFiles k;
  k.kernel = fs::canonical(dir / "vmlinux");
  k.version = trim(read_file(dir / "version", 4096));
  k.modules_dir = fs::canonical(dir) / "lib" / "modules" / k.version;
  return k;
}

// lib/modules/<single version> beside a kernel file given by the user.
std::optional<fs::path> modules_beside(const fs::path& kernel) {
  std::error_code ec;
  fs::path base = kernel.parent_path() / "lib" / "modules";
  if (!fs::is_directory(base, ec)) return std::nullopt;
  for (auto& e : fs::directory_iterator(base, ec))
    if (e.is_directory() && fs::exists(e.path() / "modules.dep")) return e.path();
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& base_modules() {
  static const std::vector<std::string> m = {"virtio_mmio", "virtio_blk", "virtio_console", "squashfs",
                                             "overlay"};
  return m;
}

const std::vector<std::string>& network_modules() {
  static const std::vector<std::string> m = {"virtio_net"};
  return m;
}

KernelFiles find_kernel(const std::optional<fs::path>& override_path) {
  std::optional<fs::path> path = override_path;
  if (!path)
    if (const char* env = std::getenv("MCPVM_KERNEL"); env && *env) path = env;
  if (path) {
    std::error_code ec;
    if (!fs::is_regular_file(*path, ec))
      fail("kernel {} not found (--kernel / MCPVM_KERNEL)", path->string());
    KernelFiles k;
    k.kernel = fs::absolute(*path);
    const char* mods = std::getenv("MCPVM_KERNEL_MODULES");
    if (mods && std::string_view(mods) == "none") return k;
    if (mods && *mods)
      k.modules_dir = mods;
    else if (auto beside = modules_beside(k.kernel))
      k.modules_dir = *beside;
    else
      fail(
          "no modules for kernel {}: put lib/modules/<version> beside it or set MCPVM_KERNEL_MODULES "
          "(a lib/modules/<version> folder, or none for a kernel with everything built in)",
          path->string());
    if (!fs::exists(k.modules_dir / "modules.dep", ec))
      fail("{} has no modules.dep (run depmod -b on it)", k.modules_dir.string());
    k.version = k.modules_dir.filename().string();
    return k;
  }
  for (const fs::path& dir : {mcpvm_home() / "kernel" / "current", fs::path("/var/lib/mcpvm/kernel/current")})
    if (auto k = from_cache_dir(dir)) return *k;
  fail("no guest kernel: run scripts/fetch-kernel.sh (or `make deps`) as root, or pass --kernel PATH");
}

std::vector<DepEntry> parse_modules_dep(const std::string& text) {
  // Debian's modules.dep has ~4000 lines and is parsed on every boot: string_views, no streams.
  std::vector<DepEntry> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    DepEntry e{std::string(line.substr(0, colon)), {}};
    std::string_view deps = line.substr(colon + 1);
    while (!deps.empty()) {
      size_t start = deps.find_first_not_of(" \t\r");
      if (start == std::string_view::npos) break;
      deps.remove_prefix(start);
      size_t end = deps.find_first_of(" \t\r");
      e.deps.emplace_back(deps.substr(0, end));
      deps = end == std::string_view::npos ? std::string_view() : deps.substr(end);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ModuleFile> resolve_modules(const fs::path& modules_dir, const std::vector<std::string>& wanted) {
  if (modules_dir.empty() || wanted.empty()) return {};
  auto entries = parse_modules_dep(read_file(modules_dir / "modules.dep", 64 << 20));
  std::set<std::string> builtin;
  std::error_code ec;
  if (fs::exists(modules_dir / "modules.builtin", ec)) {
    std::istringstream lines(read_file(modules_dir / "modules.builtin", 64 << 20));
    for (std::string l; std::getline(lines, l);) builtin.insert(module_name(l));
  }
  std::vector<ModuleFile> order;
  std::set<std::string> seen;
  auto add = [&](const std::string& rel) {
    std::string name = module_name(rel);
    if (!seen.insert(name).second) return;
    if (rel.size() < 3 || rel.compare(rel.size() - 3, 3, ".ko") != 0)
      fail("module {} is compressed ({}); only uncompressed .ko modules are supported", name, rel);
    order.push_back({name, modules_dir / rel});
  };
  std::unordered_map<std::string, const DepEntry*> by_name;
  for (const auto& e : entries) by_name.emplace(module_name(e.path), &e);
  for (const auto& want : wanted) {
    std::string w = module_name(want);
    auto found = by_name.find(w);
    if (found == by_name.end()) {
      if (builtin.count(w)) continue;
      fail("kernel module {} not found in {}", w, modules_dir.string());
    }
    // modprobe loads the dependencies in reverse modules.dep order, then the module itself.
    const DepEntry& entry = *found->second;
    for (auto d = entry.deps.rbegin(); d != entry.deps.rend(); ++d) add(*d);
    add(entry.path);
  }
  return order;
}

}  // namespace mcpvm::vm
