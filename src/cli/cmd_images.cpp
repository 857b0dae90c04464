// `mcpvm images [--json]`: what the store holds.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/command.h"
#include "oci/progress.h"
#include "oci/reference.h"
#include "oci/store.h"
#include "util/error.h"
#include "util/home.h"

namespace mcpvm::cli {
namespace {

struct ImagesArgs {
  bool json = false;
};

int run_images(const ImagesArgs& a) {
  oci::Store store(mcpvm_home());
  std::vector<oci::StoredRef> refs = store.refs();
  std::sort(refs.begin(), refs.end(), [](auto& x, auto& y) { return x.reference < y.reference; });
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows = {{"REPOSITORY", "TAG", "DIGEST", "SIZE", "CREATED", "ROOTFS"}};
  for (const oci::StoredRef& r : refs) {
    oci::Reference ref = oci::Reference::parse(r.reference);
    nlohmann::json j = {{"reference", r.reference},
                        {"repository", ref.name()},
                        {"tag", ref.tag},
                        {"digest", r.digest},
                        {"added", r.added}};
    std::string size = "?", created = "?", rootfs = "-";
    try {
      oci::Image image = store.load_image(r.digest, r.reference);
      j["size"] = image.size();
      j["created"] = image.config.created;
      size = oci::Progress::human_bytes(image.size());
      created = image.config.created.empty() ? "-" : image.config.created;
    } catch (const Error& e) {
      j["error"] = e.what();
    }
    std::error_code ec;
    auto sqfs = store.rootfs_path(r.digest);
    if (fs::is_regular_file(sqfs, ec)) {
      auto bytes = int64_t(fs::file_size(sqfs, ec));
      j["rootfs"] = {{"path", sqfs.string()}, {"size", bytes}};
      rootfs = oci::Progress::human_bytes(bytes);
    } else {
      j["rootfs"] = nullptr;
    }
    out.push_back(j);
    rows.push_back(
        {ref.name(), ref.tag.empty() ? "<none>" : ref.tag, r.digest.substr(0, 19), size, created, rootfs});
  }
  if (a.json) {
    print_json(out);
    return 0;
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 < row.size() ? fmt::format("{:<{}}  ", row[i], width[i]) : row[i];
    std::cout << line << "\n";
  }
  return 0;
}

const Command kImages{"images", "List images in the local store", 22, [](CLI::App& app) {
                        auto a = std::make_shared<ImagesArgs>();
                        app.add_flag("--json", a->json, "Print JSON");
                        return [a] { return run_images(*a); };
                      }};

}  // namespace
}  // namespace mcpvm::cli
