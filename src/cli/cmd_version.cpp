// `mcpvm version`: versions of mcpvm and of the parts it drives.
#include <curl/curl.h>

#include <iostream>

#include "cli/command.h"

namespace mcpvm::cli {
namespace {

struct VersionOptions {
  bool json = false;
};

int run_version(const VersionOptions& o) {
  nlohmann::json v = {{"mcpvm", "0.1.0"}, {"libcurl", curl_version_info(CURLVERSION_NOW)->version}};
  if (o.json)
    print_json(v);
  else
    for (auto& [k, val] : v.items()) std::cout << k << " " << val.get<std::string>() << "\n";
  return 0;
}

const Command kVersion{"version", "Show version information", 900, [](CLI::App& app) {
                         auto o = std::make_shared<VersionOptions>();
                         app.add_flag("--json", o->json, "Print JSON");
                         return [o] { return run_version(*o); };
                       }};

}  // namespace
}  // namespace mcpvm::cli
