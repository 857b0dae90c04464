#include "vm/volume.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>

#include "util/error.h"

namespace mcpvm::vm {

namespace {

namespace fs = std::filesystem;

// The 9p client's options. version 9p2000.L: POSIX semantics (the .u dialect lacks xattrs and locks).
// msize: the largest message the virtio transport takes (it caps the value at 512000). cache=mmap: no page
// cache for reads, so files the host changes under the guest stay coherent, yet mmap of files works (sqlite
// and others map their files); docs/volumes.md has the measurements against cache=loose and virtiofs.
constexpr const char* kMountOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=mmap";

bool owned_by_init(const std::string& guest) {
  for (std::string_view top : {"/proc", "/sys", "/dev", "/mcpvm"})
    if (guest == top ||
        (guest.size() > top.size() && guest.compare(0, top.size(), top) == 0 && guest[top.size()] == '/'))
      return true;
  return guest == "/";
}

// A host path on a filesystem without user.* extended attributes cannot hold what mapped-xattr stores
// (the guest's owner and mode of each file the guest creates): writes would fail file by file.
void check_user_xattrs(const fs::path& host) {
  if (::getxattr(host.c_str(), "user.virtfs.uid", nullptr, 0) >= 0) return;
  if (errno == ENOTSUP)
    fail(
        "volume {}: its filesystem does not support user extended attributes, which a writable volume needs "
        "(docs/volumes.md); share it read-only (:ro) or use a directory on another filesystem",
        host.string());
}

}  // namespace

std::string normalize_guest_path(std::string_view guest) {
  if (guest.empty() || guest.front() != '/') fail("guest path {:?} must be absolute (start with /)", guest);
  if (guest.find_first_of(std::string_view("\0\n\r\t", 4)) != std::string_view::npos)
    fail("guest path {:?} contains a control character", guest);
  std::string out;
  size_t pos = 0;
  while (pos < guest.size()) {
    size_t end = std::min(guest.find('/', pos), guest.size());
    std::string_view part = guest.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") fail("guest path {:?} must not contain '..'", guest);
    out += "/";
    out += part;
  }
  if (out.empty()) out.push_back('/');  // (not = "/": GCC 12 warns -Wrestrict on that assignment)
  if (owned_by_init(out))
    fail("guest path {} is not allowed: /, /proc, /sys, /dev and /mcpvm belong to the VM's init", out);
  return out;
}

Volume parse_volume_spec(std::string_view spec, const fs::path& cwd) {
  std::vector<std::string_view> parts;
  for (size_t pos = 0;;) {
    size_t colon = spec.find(':', pos);
    parts.push_back(spec.substr(pos, colon == std::string_view::npos ? colon : colon - pos));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  if (parts.size() > 3 || (parts.size() == 3 && parts[2] != "ro"))
    fail("expected PATH, HOST:GUEST or HOST:GUEST:ro");
  Volume v;
  v.read_only = parts.size() == 3;
  std::string_view host = parts[0];
  std::string_view guest = parts.size() == 1 ? parts[0] : parts[1];
  if (host.empty()) fail("the host path is empty");
  if (host.find('\0') != std::string_view::npos) fail("the host path contains a NUL byte");
  fs::path absolute = fs::path(host).is_absolute() ? fs::path(host) : cwd / fs::path(host);
  std::error_code ec;
  v.host = fs::canonical(absolute, ec);
  if (ec) fail("host path {}: {} (it must exist)", absolute.string(), ec.message());
  if (!fs::is_directory(v.host, ec))
    fail("host path {} is not a directory (9p shares directories)", v.host.string());
  // A one-component form names the guest path after the host path as written (made absolute).
  v.guest =
      normalize_guest_path(parts.size() == 1 ? absolute.lexically_normal().string() : std::string(guest));
  if (!v.read_only) check_user_xattrs(v.host);
  return v;
}

void add_volume(std::vector<Volume>& volumes, const Volume& v) {
  for (Volume& have : volumes) {
    if (have.guest != v.guest) continue;
    if (have.host != v.host)
      fail("two volumes at guest path {}: {} and {}", v.guest, have.host.string(), v.host.string());
    have.read_only = have.read_only && v.read_only;
    return;
  }
  if (volumes.size() >= kMaxVolumes) fail("too many volumes (at most {})", kMaxVolumes);
  volumes.push_back(v);
}

std::string volume_tag(size_t index) {
  return fmt::format("mcpvm{}", index);
}

std::vector<guest::GuestMount> guest_mounts(const std::vector<Volume>& volumes) {
  std::vector<guest::GuestMount> mounts;
  for (size_t i = 0; i < volumes.size(); ++i)
    mounts.push_back({volume_tag(i), volumes[i].guest, volumes[i].read_only, kMountOptions});
  // A parent's path is a prefix of its children's, so it sorts first and is mounted before them.
  std::sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return mounts;
}

std::string volume_enforcement(const Volume& v) {
  return v.read_only ? "ro (host: QEMU 9p readonly=on; guest: MS_RDONLY)"
                     : "rw (host: QEMU 9p as the invoking user, security_model=mapped-xattr)";
}

const std::vector<std::string>& volume_modules() {
  // 9p needs netfs and fscache (modules.dep); resolve_modules adds them first.
  static const std::vector<std::string> m = {"9pnet_virtio", "9p"};
  return m;
}

}  // namespace mcpvm::vm
