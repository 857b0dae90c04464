// `mcpvm inspect-image REF [--json]`: an image's config and layers.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>

#include "cli/command.h"
#include "oci/store.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct InspectArgs {
  std::string ref;
  bool json = false;
};

nlohmann::json to_json(const oci::Image& image) {
  const oci::ImageConfig& c = image.config;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const auto& l = image.layers[i];
    layers.push_back({{"mediaType", l.media_type},
                      {"digest", l.digest},
                      {"size", l.size},
                      {"diffID", i < image.diff_ids.size() ? image.diff_ids[i] : ""}});
  }
  return {{"reference", image.reference},
          {"digest", image.manifest_digest},
          {"config",
           {{"digest", image.config_descriptor.digest}, {"mediaType", image.config_descriptor.media_type}}},
          {"architecture", c.architecture},
          {"os", c.os},
          {"created", c.created},
          {"entrypoint", c.entrypoint},
          {"cmd", c.cmd},
          {"env", c.env},
          {"workingDir", c.working_dir},
          {"user", c.user},
          {"exposedPorts", c.exposed_ports},
          {"labels", c.labels},
          {"size", image.size()},
          {"layers", layers}};
}

std::string quoted_list(const std::vector<std::string>& v) {
  nlohmann::json j = v;
  return v.empty() ? "-" : j.dump();
}

int run_inspect(const InspectArgs& a) {
  oci::Store store(mcpvm_home());
  oci::Image image = store.resolve(a.ref);
  if (a.json) {
    print_json(to_json(image));
    return 0;
  }
  const oci::ImageConfig& c = image.config;
  std::cout << fmt::format("Reference:    {}\nDigest:       {}\nPlatform:     {}/{}\nCreated:      {}\n",
                           image.reference, image.manifest_digest, c.os, c.architecture,
                           c.created.empty() ? "-" : c.created)
            << fmt::format("Entrypoint:   {}\nCmd:          {}\nWorkingDir:   {}\nUser:         {}\n",
                           quoted_list(c.entrypoint), quoted_list(c.cmd),
                           c.working_dir.empty() ? "-" : c.working_dir, c.user.empty() ? "-" : c.user)
            << fmt::format("ExposedPorts: {}\n", c.exposed_ports.empty()
                                                     ? "-"
                                                     : fmt::format("{}", fmt::join(c.exposed_ports, " ")));
  std::cout << "Env:\n";
  for (const auto& e : c.env) std::cout << "  " << e << "\n";
  std::cout << "Labels:\n";
  for (const auto& [k, v] : c.labels) std::cout << "  " << k << "=" << v << "\n";
  std::cout << "Layers:\n";
  for (const auto& l : image.layers)
    std::cout << fmt::format("  {} {:>12} {}\n", l.digest, l.size, l.media_type);
  return 0;
}

const Command kInspectImage{"inspect-image", "Show an image's config and layers", 23, [](CLI::App& app) {
                              auto a = std::make_shared<InspectArgs>();
                              app.add_option("ref", a->ref, "Image reference or digest")->required();
                              app.add_flag("--json", a->json, "Print JSON");
                              return [a] { return run_inspect(*a); };
                            }};

}  // namespace
}  // namespace mcpvm::cli
