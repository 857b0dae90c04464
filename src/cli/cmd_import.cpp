// `mcpvm import PATH [--tag REF]`: load an OCI image layout directory or a docker-archive tarball.
#include <iostream>

#include "cli/command.h"
#include "oci/import.h"
#include "util/error.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct ImportArgs {
  std::string path, tag;
  bool replace = false;
  std::string platform = "linux/amd64";
};

int run_import(const ImportArgs& a) {
  oci::ImportOptions o;
  if (!a.tag.empty()) o.tag = a.tag;
  o.replace = a.replace;
  o.platform = oci::Platform::parse(a.platform);
  oci::Store store(mcpvm_home());
  for (const oci::Image& image : oci::import_image(store, a.path, o))
    std::cout << image.reference << " " << image.manifest_digest << "\n";
  return 0;
}

const Command kImport{
    "import", "Import an OCI image layout directory or a docker-archive tarball", 21, [](CLI::App& app) {
      auto a = std::make_shared<ImportArgs>();
      app.add_option("path", a->path, "OCI layout directory or docker-archive .tar[.gz]")->required();
      app.add_option("--tag", a->tag, "Reference to record (default: the image's own name)");
      app.add_flag("--replace", a->replace, "Re-point a reference that already names another image");
      app.add_option("--platform", a->platform, "os/arch to choose from an index")->capture_default_str();
      return [a] { return run_import(*a); };
    }};

}  // namespace
}  // namespace mcpvm::cli
