#include "oci/pull.h"

#include <atomic>
#include <limits>
#include <set>
#include <thread>

#include "oci/progress.h"
#include "oci/reference.h"
#include "util/error.h"
#include "util/home.h"
#include "util/sha256.h"

namespace mcpvm::oci {

namespace {

std::string short_digest(std::string_view digest) {
  return std::string(digest.substr(0, 19)) + "…";
}

// Fetches a manifest by digest and checks that the bytes are what the digest says.
FetchedManifest fetch_verified(Registry& registry, const Descriptor& d) {
  if (d.size > int64_t(kMaxManifestBytes))
    fail("manifest {} is larger than {} MiB", short_digest(d.digest), kMaxManifestBytes >> 20);
  FetchedManifest m = registry.get_manifest(d.digest);
  if (m.digest != d.digest) fail("manifest {} does not match its digest", short_digest(d.digest));
  return m;
}

// Resolves an index to the platform's manifest; returns the manifest document itself unchanged otherwise.
FetchedManifest resolve_manifest(Registry& registry, const Reference& ref, const Platform& platform) {
  FetchedManifest top = registry.get_manifest(ref.manifest_reference());
  if (!ref.digest.empty() && top.digest != ref.digest)
    fail("the manifest does not match its digest {}", ref.digest);
  if (classify_manifest(top.content_type, top.body) == ManifestKind::manifest) return top;
  Index index = parse_index(top.body);
  const IndexEntry& entry = choose_platform(index, platform);
  FetchedManifest m = fetch_verified(registry, entry.descriptor);
  if (classify_manifest(m.content_type, m.body) != ManifestKind::manifest)
    fail("the index entry for {} is not an image manifest", platform.str());
  return m;
}

void check_platform(const ImageConfig& config, const Platform& want) {
  if (config.os.empty() && config.architecture.empty()) return;  // nothing said: trust the index
  if (config.os != want.os || config.architecture != want.architecture)
    fail("the image is for {}/{}, not {}", config.os, config.architecture, want.str());
}

// Fetches the image config (or reads it from the store). A registry that sends more than the declared
// size is cut off mid-stream, so at most kMaxConfigBytes are ever held.
std::string fetch_config(const Store& store, Registry& registry, const Descriptor& config) {
  if (config.size > int64_t(kMaxConfigBytes))
    fail("the image config is larger than {} MiB", kMaxConfigBytes >> 20);
  if (store.has_blob(config.digest)) return store.read_blob(config.digest, kMaxConfigBytes);
  return with_context(fmt::format("config {}", short_digest(config.digest)), [&] {
    std::string body;
    registry.get_blob(
        config.digest,
        [&](std::string_view chunk) {
          if (body.size() + chunk.size() > size_t(config.size))
            fail("is larger than the {} bytes its descriptor says", config.size);
          body.append(chunk);
        },
        [&] { body.clear(); });
    store.put_blob(config.digest, body);
    return body;
  });
}

// The bytes the missing layers will take in the store, as the manifest declares them (the download
// cannot exceed that: BlobWriter cuts a blob off at its declared size). Saturates instead of wrapping.
uint64_t missing_layer_bytes(const Store& store, const std::vector<Descriptor>& layers) {
  std::set<std::string> counted;
  uint64_t total = 0;
  for (const Descriptor& layer : layers) {
    if (store.has_blob(layer.digest) || !counted.insert(layer.digest).second) continue;
    uint64_t size = uint64_t(layer.size);
    total = size > std::numeric_limits<uint64_t>::max() - total ? std::numeric_limits<uint64_t>::max()
                                                                : total + size;
  }
  return total;
}

// Refuses, before any layer is downloaded, an image whose layers cannot fit: a full disk would fail the
// pull late and also break everything else that writes there.
void check_free_space(const Store& store, const std::vector<Descriptor>& layers) {
  uint64_t needed = missing_layer_bytes(store, layers);
  uint64_t available = store.free_bytes();
  if (needed > available)
    fail("not enough free space in {}: the image needs {} more, {} are free", store.home().string(),
         needed > uint64_t(INT64_MAX) ? "over 9 EB" : Progress::human_bytes(int64_t(needed)),
         Progress::human_bytes(int64_t(std::min<uint64_t>(available, INT64_MAX))));
}

// Downloads the layers the store lacks, `parallel` at a time; the first failure stops the others.
void fetch_layers(const Store& store, Registry& registry, const std::vector<Descriptor>& layers, int parallel,
                  Progress& progress) {
  std::vector<size_t> rows;
  std::vector<size_t> todo;
  for (size_t i = 0; i < layers.size(); ++i) {
    rows.push_back(progress.add(short_digest(layers[i].digest), layers[i].size));
    if (store.has_blob(layers[i].digest))
      progress.finish(rows[i], "exists");
    else
      todo.push_back(i);
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    for (size_t k; !stop && (k = next++) < todo.size();) {
      const Descriptor& layer = layers[todo[k]];
      size_t row = rows[todo[k]];
      try {
        with_context(fmt::format("layer {}", short_digest(layer.digest)), [&] {
          std::optional<BlobWriter> writer(store.begin_blob(layer.digest, layer.size));
          registry.get_blob(
              layer.digest,
              [&](std::string_view chunk) {
                if (stop) fail("cancelled");
                writer->write(chunk);
                progress.advance(row, int64_t(chunk.size()));
              },
              [&] {
                writer.emplace(store.begin_blob(layer.digest, layer.size));
                progress.restart(row);
              });
          writer->commit();
        });
        progress.finish(row, "done");
      } catch (const Error& e) {
        std::lock_guard lock(error_mutex);
        if (!first_error && !stop) first_error = e;
        stop = true;
      }
    }
  };
  std::vector<std::thread> threads;
  size_t n = std::min<size_t>(size_t(std::max(parallel, 1)), todo.size());
  for (size_t i = 0; i < n; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  if (first_error) throw *first_error;
}

}  // namespace

Image pull(const Store& store, const std::string& text, const PullOptions& options) {
  Reference ref = with_context(fmt::format("pulling {}", text), [&] { return Reference::parse(text); });
  return with_context(fmt::format("pulling {}", ref.str()), [&] {
    make_private_dirs(store.home());
    FileLock lock = store.lock_shared();  // rmi's garbage collection waits until our ref is written
    Progress progress(options.quiet      ? Progress::Mode::quiet
                      : options.progress ? Progress::Mode::bars
                                         : Progress::Mode::lines);
    RegistryOptions ro = options.registry;
    if (!ro.credentials) ro.credentials = find_docker_credentials(ref.domain);
    Registry registry(ref, ro);
    registry.ping();
    FetchedManifest fm = resolve_manifest(registry, ref, options.platform);
    Manifest manifest = parse_manifest(fm.body);

    std::string config_body = fetch_config(store, registry, manifest.config);
    ImageConfig config;
    std::vector<std::string> diff_ids;
    parse_config(config_body, config, diff_ids);
    check_platform(config, options.platform);
    if (!diff_ids.empty() && diff_ids.size() != manifest.layers.size())
      fail("the image config lists {} layers but the manifest {}", diff_ids.size(), manifest.layers.size());

    check_free_space(store, manifest.layers);
    progress.message(fmt::format("pulling {} ({})", ref.str(), short_digest(fm.digest)));
    fetch_layers(store, registry, manifest.layers, options.parallel, progress);
    store.put_blob(fm.digest, fm.body);  // the manifest last: its blobs are all in place now
    std::string key = ref.tag.empty() ? ref.name() + "@" + fm.digest : ref.name() + ":" + ref.tag;
    store.set_ref(key, fm.digest);
    return store.load_image(fm.digest, key);
  });
}

}  // namespace mcpvm::oci
