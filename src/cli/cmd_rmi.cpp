// `mcpvm rmi REF|DIGEST`: remove refs; blobs and rootfs caches nothing refers to any more are collected.
#include <iostream>

#include "cli/command.h"
#include "oci/store.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct RmiArgs {
  std::vector<std::string> refs;
};

int run_rmi(const RmiArgs& a) {
  oci::Store store(mcpvm_home());
  for (const std::string& r : a.refs)
    for (const oci::StoredRef& removed : store.remove(r))
      std::cout << "removed " << removed.reference << "\n";
  return 0;
}

const Command kRmi{"rmi", "Remove images from the local store", 24, [](CLI::App& app) {
                     auto a = std::make_shared<RmiArgs>();
                     app.add_option("ref", a->refs, "Image references or digests")->required();
                     return [a] { return run_rmi(*a); };
                   }};

}  // namespace
}  // namespace mcpvm::cli
