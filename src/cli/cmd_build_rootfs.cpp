// `mcpvm build-rootfs REF`: builds (or finds) the image's cached squashfs ahead of `run`.
#include <fmt/format.h>

#include <chrono>
#include <iostream>

#include "cli/command.h"
#include "oci/store.h"
#include "rootfs/ensure.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct BuildRootfsOptions {
  std::string ref;
  std::string compressor = "zstd";
  bool rebuild = false;
  bool json = false;
};

int run_build_rootfs(const BuildRootfsOptions& o) {
  fs::path home = ensure_mcpvm_home();
  oci::Store store(home);
  oci::Image image = store.resolve(o.ref);
  rootfs::BuildOptions options;
  options.compressor = o.compressor;
  if (o.rebuild) {
    std::error_code ec;
    fs::remove(rootfs::rootfs_cache_path(home, image), ec);
  }
  auto start = std::chrono::steady_clock::now();
  bool built = false;
  fs::path path = rootfs::ensure_rootfs(store, image, home, options, &built);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto size = fs::file_size(path);
  if (o.json) {
    print_json({{"reference", image.reference},
                {"digest", image.manifest_digest},
                {"rootfs", path.string()},
                {"size", size},
                {"built", built},
                {"seconds", seconds}});
  } else {
    std::cout << path.string() << "\n";
    std::cerr << fmt::format("{} {} ({:.1f} MB) in {:.2f}s\n", built ? "built" : "cached", image.reference,
                             double(size) / 1e6, seconds);
  }
  return 0;
}

const Command kBuildRootfs{
    "build-rootfs", "Build an image's root filesystem (squashfs) ahead of run", 35, [](CLI::App& app) {
      auto o = std::make_shared<BuildRootfsOptions>();
      app.add_option("ref", o->ref, "Image reference or digest")->required();
      app.add_option("--compressor", o->compressor, "Squashfs compressor: zstd (default), lz4, gzip, xz, lzo")
          ->check(CLI::IsMember({"zstd", "lz4", "gzip", "xz", "lzo"}));
      app.add_flag("--rebuild", o->rebuild, "Rebuild even when cached");
      app.add_flag("--json", o->json, "Print JSON");
      return [o] { return run_build_rootfs(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
