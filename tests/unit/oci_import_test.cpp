// `import` of hostile or surprising archives: compression filters beyond the ones we allow, and archives
// that would silently re-point a ref the user already has.
#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "oci/import.h"
#include "oci/manifest.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

using mcpvm::Error;
using mcpvm::Sha256;
using mcpvm::TempDir;
using namespace mcpvm::oci;
namespace fs = std::filesystem;

namespace {

std::string digest_of(std::string_view data) {
  return "sha256:" + Sha256::hex(data);
}

// The files of a one-layer OCI image layout whose layer holds `layer` verbatim.
std::map<std::string, std::string> layout_files(const std::string& layer) {
  const std::string config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"diff_ids":[]}})";
  nlohmann::json m = {
      {"schemaVersion", 2},
      {"mediaType", media::oci_manifest},
      {"config", {{"mediaType", media::oci_config}, {"digest", digest_of(config)}, {"size", config.size()}}},
      {"layers",
       {{{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
         {"digest", digest_of(layer)},
         {"size", layer.size()}}}}};
  const std::string manifest = m.dump();
  nlohmann::json index = {
      {"schemaVersion", 2},
      {"manifests",
       {{{"mediaType", media::oci_manifest}, {"digest", digest_of(manifest)}, {"size", manifest.size()}}}}};
  std::map<std::string, std::string> files;
  files["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
  files["index.json"] = index.dump();
  for (const std::string* blob : {&config, &manifest, &layer})
    files["blobs/sha256/" + digest_of(*blob).substr(7)] = *blob;
  return files;
}

// Writes `files` as a tar through one of libarchive's write filters (ARCHIVE_FILTER_*).
void write_tar(const fs::path& path, const std::map<std::string, std::string>& files, int filter) {
  archive* a = archive_write_new();
  ASSERT_EQ(archive_write_add_filter(a, filter), ARCHIVE_OK) << archive_error_string(a);
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& [name, content] : files) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, la_int64_t(content.size()));
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
}

struct ImportFixture : ::testing::Test {
  TempDir dir;
  Store store{dir.path() / "home"};

  // The error of importing `path`, or "(no error)".
  std::string import_error(const fs::path& path, const std::string& tag, bool replace = false) {
    ImportOptions o;
    o.tag = tag;
    o.replace = replace;
    try {
      import_image(store, path, o);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  }
  std::string digest_of_ref(const std::string& reference) {
    for (const StoredRef& r : store.refs())
      if (r.reference == reference) return r.digest;
    return "(none)";
  }
  fs::path archive(const std::string& name, const std::string& layer, int filter) {
    fs::path p = dir.path() / name;
    write_tar(p, layout_files(layer), filter);
    return p;
  }
};

struct Filter {
  const char* name;
  int code;
};

}  // namespace

class ImportFilter : public ImportFixture, public ::testing::WithParamInterface<Filter> {};

TEST_P(ImportFilter, AllowedCompressionImports) {
  fs::path p = archive("image.tar", "layer", GetParam().code);
  EXPECT_EQ(import_error(p, "local/x:1"), "(no error)");
  EXPECT_NE(digest_of_ref("docker.io/local/x:1"), "(none)");
}

INSTANTIATE_TEST_SUITE_P(OciImport, ImportFilter,
                         ::testing::Values(Filter{"none", ARCHIVE_FILTER_NONE},
                                           Filter{"gzip", ARCHIVE_FILTER_GZIP},
                                           Filter{"zstd", ARCHIVE_FILTER_ZSTD},
                                           Filter{"xz", ARCHIVE_FILTER_XZ}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

class RefusedFilter : public ImportFixture, public ::testing::WithParamInterface<Filter> {};

TEST_P(RefusedFilter, OtherCompressionIsRefusedByName) {
  fs::path p = archive("image.tar", "layer", GetParam().code);
  EXPECT_EQ(
      import_error(p, "local/x:1"),
      fmt::format("importing {}: {}-compressed archives are not supported: decompress it, or compress it "
                  "with gzip, zstd or xz",
                  p.string(), GetParam().name));
  EXPECT_EQ(digest_of_ref("docker.io/local/x:1"), "(none)");
}

INSTANTIATE_TEST_SUITE_P(OciImport, RefusedFilter,
                         ::testing::Values(Filter{"bzip2", ARCHIVE_FILTER_BZIP2},
                                           Filter{"lz4", ARCHIVE_FILTER_LZ4},
                                           Filter{"compress", ARCHIVE_FILTER_COMPRESS},
                                           Filter{"lzip", ARCHIVE_FILTER_LZIP}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(ImportFixture, AnImportDoesNotSilentlyMoveAnExistingRef) {
  fs::path first = archive("first.tar", "first layer", ARCHIVE_FILTER_NONE);
  fs::path second = archive("second.tar", "second layer", ARCHIVE_FILTER_NONE);
  ASSERT_EQ(import_error(first, "local/x:1"), "(no error)");
  std::string old_digest = digest_of_ref("docker.io/local/x:1");

  std::string error = import_error(second, "local/x:1");
  EXPECT_THAT(error,
              ::testing::MatchesRegex(
                  "importing .*second.tar: docker.io/local/x:1 already points at sha256:[0-9a-f]{12}…, "
                  "this image is sha256:[0-9a-f]{12}…: give --replace to re-point it"));
  EXPECT_THAT(error, ::testing::HasSubstr(old_digest.substr(0, 19)));
  EXPECT_EQ(digest_of_ref("docker.io/local/x:1"), old_digest);

  EXPECT_EQ(import_error(second, "local/x:1", /*replace=*/true), "(no error)");
  EXPECT_NE(digest_of_ref("docker.io/local/x:1"), old_digest);
}

TEST_F(ImportFixture, TheSameImageAgainIsANoOp) {
  fs::path p = archive("image.tar", "layer", ARCHIVE_FILTER_NONE);
  ASSERT_EQ(import_error(p, "local/x:1"), "(no error)");
  EXPECT_EQ(import_error(p, "local/x:1"), "(no error)");
}
