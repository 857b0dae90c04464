#include "guest/init/volumes.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "guest/init/util.h"

namespace mcpvm::guest {

namespace {

// mkdir -p in the image root (the overlay's upper takes the new directories).
void make_mount_point(const std::string& path) {
  for (size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) fail_sys("creating mount point " + prefix);
    if (slash == std::string::npos) return;
  }
}

}  // namespace

void mount_volumes(const std::vector<GuestMount>& mounts) {
  for (const auto& m : mounts) {
    if (m.path.empty() || m.path.front() != '/' || m.path == "/")
      throw SetupError("bad volume path in config: " + m.path);
    make_mount_point(m.path);
    unsigned long flags = MS_NOSUID | MS_NODEV | (m.read_only ? MS_RDONLY : 0);
    if (::mount(m.tag.c_str(), m.path.c_str(), m.fstype.c_str(), flags, m.options.c_str()) != 0)
      fail_sys("mounting volume " + m.tag + " on " + m.path);
  }
}

void hand_volumes_to(const std::vector<GuestMount>& mounts, uid_t uid, gid_t gid) {
  if (uid == 0) return;
  for (const auto& m : mounts) {
    struct stat st {};
    if (m.read_only || (::stat(m.path.c_str(), &st) == 0 && st.st_uid == uid && st.st_gid == gid)) continue;
    if (::chown(m.path.c_str(), uid, gid) != 0) fail_sys("giving volume " + m.path + " to the server's user");
  }
}

}  // namespace mcpvm::guest
