#include "guest/init/system.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "guest/init/util.h"
#include "guest/module_signature.h"

namespace mcpvm::guest {

namespace {

void make_dir(const std::string& path, mode_t mode = 0755) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) fail_sys("mkdir " + path);
}

void mount_fs(const char* source, const std::string& target, const char* type, unsigned long flags,
              const std::string& data = {}) {
  make_dir(target);
  if (::mount(source, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0)
    fail_sys(std::string("mounting ") + type + " on " + target);
}

void move_mount(const std::string& from, const std::string& to) {
  make_dir(to);
  if (::mount(from.c_str(), to.c_str(), nullptr, MS_MOVE, nullptr) != 0)
    fail_sys("moving mount " + from + " to " + to);
}

// /sys/module/module/parameters/sig_enforce: 'N' when the kernel checks signatures but loads unsigned
// modules anyway (it then only taints itself). Absent without CONFIG_MODULE_SIG: nothing is checked.
bool signatures_optional() {
  UniqueFd fd(::open("/sys/module/module/parameters/sig_enforce", O_RDONLY | O_CLOEXEC));
  char c = 0;
  return fd && ::read(fd.get(), &c, 1) == 1 && c == 'N';
}

// init_module() of the file's bytes without their appended signature (see guest/module_signature.h).
// False when the kernel refuses an unsigned module after all (lockdown), so the caller loads it signed.
bool load_unsigned(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_sys("stat " + path);
  if (st.st_size == 0) return false;
  void* map = ::mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  if (map == MAP_FAILED) fail_sys("mapping " + path);
  size_t size = unsigned_module_size({static_cast<const char*>(map), size_t(st.st_size)});
  long rc = ::syscall(SYS_init_module, map, size, "");
  int err = errno;
  ::munmap(map, size_t(st.st_size));
  errno = err;
  if (rc == 0 || errno == EEXIST) return true;
  if (errno == EKEYREJECTED || errno == EPERM) return false;
  fail_sys("loading module " + path);
}

}  // namespace

void mount_early() {
  constexpr unsigned long kSafe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  mount_fs("proc", "/proc", "proc", kSafe);
  mount_fs("sysfs", "/sys", "sysfs", kSafe);
  mount_fs("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_fs("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666");
  mount_fs("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

std::string load_modules(const std::vector<std::string>& modules) {
  std::string timings;
  const bool skip_signatures = signatures_optional();
  for (const auto& name : modules) {
    timespec t0{}, t1{};
    ::clock_gettime(CLOCK_MONOTONIC, &t0);
    if (name.empty() || name.find('/') != std::string::npos)
      throw SetupError("bad module name in config: " + name);
    std::string path = std::string(kModulesDir) + "/" + name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) fail_sys("opening module " + path);
    if (!(skip_signatures && load_unsigned(fd.get(), path)) &&
        ::syscall(SYS_finit_module, fd.get(), "", 0) != 0 && errno != EEXIST)
      fail_sys("loading module " + name);
    ::clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    timings +=
        (timings.empty() ? "" : " ") + name.substr(0, name.rfind('.')) + "=" + std::to_string(ms) + "ms";
  }
  return timings;
}

void switch_to_image_root(const GuestConfig& config) {
  const std::string lower = "/mcpvm/lower", rw = "/mcpvm/rw", root = "/mcpvm/root";
  mount_fs(config.root_device.c_str(), lower, config.root_fstype.c_str(), MS_RDONLY | MS_NODEV);
  mount_fs("tmpfs", rw, "tmpfs", MS_NODEV, "mode=0755,size=" + std::to_string(config.overlay_size_mib) + "m");
  make_dir(rw + "/upper");
  make_dir(rw + "/work");
  mount_fs("overlay", root, "overlay", 0,
           "lowerdir=" + lower + ",upperdir=" + rw + "/upper,workdir=" + rw + "/work");
  for (const char* m : {"/dev", "/proc", "/sys"}) move_mount(m, root + m);
  if (::chdir(root.c_str()) != 0) fail_sys("chdir " + root);
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) fail_sys("moving the image root to /");
  if (::chroot(".") != 0) fail_sys("chroot");
  if (::chdir("/") != 0) fail_sys("chdir /");
}

void mount_late() {
  mount_fs("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_fs("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

void set_hostname(const std::string& name) {
  if (!name.empty() && ::sethostname(name.data(), name.size()) != 0) fail_sys("sethostname " + name);
}

void end_vm() {
  ::kill(-1, SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  ::sync();
  for (const char* m : {"/tmp", "/run", "/dev/shm", "/dev/pts"}) ::umount2(m, MNT_DETACH);
  ::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_RDONLY, nullptr);
  ::sync();
  ::reboot(RB_AUTOBOOT);
  // Only reached if reboot failed; PID 1 must not exit (that panics the kernel, which with panic=-1
  // also resets the machine, but noisily).
  for (;;) ::pause();
}

}  // namespace mcpvm::guest
