#include "oci/manifest.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "oci/reference.h"
#include "util/error.h"
#include "util/json_depth.h"

namespace mcpvm::oci {

namespace {

using nlohmann::json;

json parse_json(std::string_view body, std::string_view what, size_t max_bytes = kMaxManifestBytes) {
  if (body.size() > max_bytes) fail("the {} is larger than {} MiB", what, max_bytes >> 20);
  bool too_deep = false;
  json doc = parse_untrusted_json(body, &too_deep);
  if (too_deep) fail("the {}: {}", what, too_deep_reason());
  if (doc.is_discarded()) fail("the {} is not valid JSON", what);
  if (!doc.is_object()) fail("the {} is not a JSON object", what);
  return doc;
}

std::string string_field(const json& obj, const char* key, std::string_view what, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) fail("the {} has no \"{}\"", what, key);
    return {};
  }
  if (!it->is_string()) fail("the {}'s \"{}\" is not a string", what, key);
  return it->get<std::string>();
}

Descriptor parse_descriptor(const json& d, std::string_view what) {
  if (!d.is_object()) fail("a {} descriptor is not an object", what);
  Descriptor out;
  out.media_type = string_field(d, "mediaType", what, false);
  out.digest = string_field(d, "digest", what);
  if (!is_valid_digest(out.digest))
    fail("the {} digest \"{}\" is not sha256:<64 hex>", what, out.digest.substr(0, 80));
  auto size = d.find("size");
  if (size == d.end() || !size->is_number_integer()) fail("the {} descriptor has no integer size", what);
  out.size = size->get<int64_t>();
  if (out.size < 0) fail("the {} descriptor has a negative size", what);
  return out;
}

void check_schema2(const json& doc, std::string_view what) {
  auto v = doc.find("schemaVersion");
  if (v == doc.end() || !v->is_number_integer()) fail("the {} has no schemaVersion", what);
  if (*v == 1)
    fail("schema 1 manifests are not supported: push the image again with a current docker or skopeo");
  if (*v != 2) fail("the {} has unsupported schemaVersion {}", what, v->dump());
}

std::vector<std::string> string_list(const json& obj, const char* key, std::string_view what) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_array()) fail("the {}'s {} is not a list", what, key);
  for (const json& s : *it) {
    if (!s.is_string()) fail("the {}'s {} holds a non-string", what, key);
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace

Platform Platform::parse(std::string_view text) {
  Platform p;
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    fail("invalid platform \"{}\": expected os/arch[/variant], e.g. linux/amd64", text);
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

std::string Platform::str() const {
  return os + "/" + architecture + (variant.empty() ? "" : "/" + variant);
}

ManifestKind classify_manifest(std::string_view content_type, std::string_view body) {
  std::string type(content_type.substr(0, content_type.find(';')));
  if (type.empty() || type == "application/json" || type == "text/plain" ||
      type == "application/octet-stream") {
    json doc = parse_json(body, "manifest");
    check_schema2(doc, "manifest");
    type = string_field(doc, "mediaType", "manifest", false);
    if (type.empty()) type = doc.contains("manifests") ? media::oci_index : media::oci_manifest;
  }
  if (type == media::docker_schema1 || type == media::docker_schema1_signed)
    fail("schema 1 manifests are not supported: push the image again with a current docker or skopeo");
  if (type == media::oci_index || type == media::docker_list) return ManifestKind::index;
  if (type == media::oci_manifest || type == media::docker_manifest) return ManifestKind::manifest;
  fail("unknown manifest media type \"{}\"", type.substr(0, 100));
}

Manifest parse_manifest(std::string_view body) {
  json doc = parse_json(body, "manifest");
  check_schema2(doc, "manifest");
  Manifest m;
  m.media_type = string_field(doc, "mediaType", "manifest", false);
  if (m.media_type.empty()) m.media_type = media::oci_manifest;
  if (m.media_type != media::oci_manifest && m.media_type != media::docker_manifest)
    fail("unknown manifest media type \"{}\"", m.media_type.substr(0, 100));
  auto config = doc.find("config");
  if (config == doc.end()) fail("the manifest has no config");
  m.config = parse_descriptor(*config, "config");
  auto layers = doc.find("layers");
  if (layers == doc.end() || !layers->is_array()) fail("the manifest has no layers list");
  for (const json& l : *layers) {
    Descriptor d = parse_descriptor(l, "layer");
    layer_compression(d.media_type);  // refuse what we could not unpack, now rather than at first boot
    m.layers.push_back(std::move(d));
  }
  if (m.layers.empty()) fail("the manifest has no layers");
  return m;
}

Index parse_index(std::string_view body) {
  json doc = parse_json(body, "index");
  check_schema2(doc, "index");
  Index index;
  index.media_type = string_field(doc, "mediaType", "index", false);
  auto list = doc.find("manifests");
  if (list == doc.end() || !list->is_array()) fail("the index has no manifests list");
  for (const json& m : *list) {
    IndexEntry e;
    e.descriptor = parse_descriptor(m, "index entry");
    auto p = m.find("platform");
    if (p != m.end() && p->is_object()) {
      e.platform.os = string_field(*p, "os", "platform", false);
      e.platform.architecture = string_field(*p, "architecture", "platform", false);
      e.platform.variant = string_field(*p, "variant", "platform", false);
    } else {
      e.platform = Platform{.os = "", .architecture = "", .variant = ""};
    }
    index.manifests.push_back(std::move(e));
  }
  return index;
}

void parse_config(std::string_view body, ImageConfig& config, std::vector<std::string>& diff_ids) {
  json doc = parse_json(body, "image config", kMaxConfigBytes);
  config = ImageConfig{};
  config.architecture = string_field(doc, "architecture", "image config", false);
  config.os = string_field(doc, "os", "image config", false);
  config.created = string_field(doc, "created", "image config", false);
  auto c = doc.find("config");
  if (c != doc.end() && !c->is_null()) {
    if (!c->is_object()) fail("the image config's config is not an object");
    const std::string what = "image config";
    config.entrypoint = string_list(*c, "Entrypoint", what);
    config.cmd = string_list(*c, "Cmd", what);
    config.env = string_list(*c, "Env", what);
    config.working_dir = string_field(*c, "WorkingDir", what, false);
    config.user = string_field(*c, "User", what, false);
    if (auto ports = c->find("ExposedPorts"); ports != c->end() && !ports->is_null()) {
      if (!ports->is_object()) fail("the image config's ExposedPorts is not an object");
      for (auto& [port, _] : ports->items()) config.exposed_ports.push_back(port);
      std::sort(config.exposed_ports.begin(), config.exposed_ports.end());
    }
    if (auto labels = c->find("Labels"); labels != c->end() && !labels->is_null()) {
      if (!labels->is_object()) fail("the image config's Labels is not an object");
      for (auto& [k, v] : labels->items()) {
        if (!v.is_string()) fail("the image config's label {} is not a string", k.substr(0, 100));
        config.labels[k] = v.get<std::string>();
      }
    }
  }
  diff_ids.clear();
  if (auto rootfs = doc.find("rootfs"); rootfs != doc.end() && rootfs->is_object()) {
    diff_ids = string_list(*rootfs, "diff_ids", "image config's rootfs");
    for (const auto& id : diff_ids)
      if (!is_valid_digest(id)) fail("the image config has an invalid diff_id \"{}\"", id.substr(0, 80));
  }
}

const IndexEntry& choose_platform(const Index& index, const Platform& want) {
  const IndexEntry* best = nullptr;
  for (const IndexEntry& e : index.manifests) {
    if (e.platform.os != want.os || e.platform.architecture != want.architecture) continue;
    if (!want.variant.empty() && e.platform.variant != want.variant) continue;
    if (!best) best = &e;
  }
  if (best) return *best;
  std::vector<std::string> have;
  for (const IndexEntry& e : index.manifests)
    if (!e.platform.os.empty()) have.push_back(e.platform.str());
  fail("no {} image in the index (it has: {})", want.str(),
       have.empty() ? "no platforms" : fmt::format("{}", fmt::join(have, ", ")));
}

void parse_any_document(std::string_view body) {
  try {
    if (classify_manifest("", body) == ManifestKind::index) {
      Index index = parse_index(body);
      if (!index.manifests.empty()) (void)choose_platform(index, Platform{});
    } else {
      parse_manifest(body);
    }
  } catch (const Error&) {
  }
  ImageConfig config;
  std::vector<std::string> diff_ids;
  try {
    parse_config(body, config, diff_ids);
  } catch (const Error&) {
  }
}

}  // namespace mcpvm::oci
