// A stand-in guest for the network integration tests, no VM needed: a fresh network + mount + UTS
// namespace whose kernel plays the guest. A tap device "eth0" in it is relayed, frame by frame, to a
// stream socket speaking QEMU's framing (fd 3, the other end of a UserNetwork), then the guest's own
// network setup (mcpvm_guest_net: DHCP, rtnetlink, resolv.conf, hosts) runs exactly as in mcpvm-init.
// /etc is a private tmpfs so the files it writes stay in the namespace.
//
//   net_guest_ns NETWORK_JSON      (fd 3: the frame socket)
// Prints "READY <address>" once configured, then relays until the socket closes.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "guest/net/network.h"
#include "net/frame_stream.h"

namespace {

constexpr int kSocketFd = 3;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    check(n > 0, "writing");
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Private /etc: keep the few files busybox and glibc look at, drop everything else.
void private_etc() {
  std::string passwd = read_file("/etc/passwd"), group = read_file("/etc/group");
  check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0, "making / private");
  check(::mount("tmpfs", "/etc", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") == 0, "mounting /etc");
  std::ofstream("/etc/passwd") << passwd;
  std::ofstream("/etc/group") << group;
  std::ofstream("/etc/nsswitch.conf") << "hosts: files dns\n";
}

int open_tap(const char* name) {
  int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  check(fd >= 0, "opening /dev/net/tun");
  ifreq req{};
  req.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(req.ifr_name, name, IFNAMSIZ - 1);
  check(::ioctl(fd, TUNSETIFF, &req) == 0, "creating the tap device");
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: net_guest_ns NETWORK_JSON (frame socket on fd 3)\n");
    return 2;
  }
  try {
    check(::unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWUTS) == 0, "unshare");
    private_etc();
    int tap = open_tap("eth0");
    std::thread to_host([tap] {
      std::vector<uint8_t> frame(65536);
      mcpvm::net::Bytes out;
      while (true) {
        ssize_t n = ::read(tap, frame.data(), frame.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(1);
        out.clear();
        mcpvm::net::append_frame(out, mcpvm::net::ByteView(frame.data(), static_cast<size_t>(n)));
        write_all(kSocketFd, out.data(), out.size());
      }
    });
    to_host.detach();
    std::thread to_guest([tap] {
      mcpvm::net::FrameDecoder decoder;
      std::vector<uint8_t> buffer(1 << 16);
      while (true) {
        ssize_t n = ::read(kSocketFd, buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0);  // the network went away: so does the guest
        decoder.feed(mcpvm::net::ByteView(buffer.data(), static_cast<size_t>(n)),
                     [&](mcpvm::net::ByteView f) {
                       [[maybe_unused]] ssize_t w =
                           ::write(tap, f.data(), f.size());  // a full tap queue drops, like a NIC
                     });
      }
    });
    mcpvm::guest::net::configure_network(nlohmann::json::parse(argv[1]));
    auto lease = mcpvm::guest::net::current_lease();
    std::printf("READY %s\n", mcpvm::guest::net::format_ip(lease->address).c_str());
    std::fflush(stdout);
    to_guest.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "net_guest_ns: %s\n", e.what());
    return 1;
  }
  return 0;
}
