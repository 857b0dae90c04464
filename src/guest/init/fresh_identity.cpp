#include "guest/init/fresh_identity.h"

#include <fcntl.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <time.h>

#include <cstring>
#include <vector>

#include "guest/init/util.h"

namespace mcpvm::guest {

void reseed_kernel_rng(std::string_view host_entropy) {
  UniqueFd fd(::open("/dev/urandom", O_RDWR | O_CLOEXEC));
  if (!fd) fail_sys("opening /dev/urandom");
  // struct rand_pool_info ends in a flexible array: build it in a word buffer.
  std::vector<uint32_t> buf(2 + (host_entropy.size() + 3) / 4, 0);
  auto* info = reinterpret_cast<rand_pool_info*>(buf.data());
  info->entropy_count = int(host_entropy.size() * 8);
  info->buf_size = int(host_entropy.size());
  std::memcpy(info->buf, host_entropy.data(), host_entropy.size());
  int rc = ::ioctl(fd.get(), RNDADDENTROPY, info);
  int err = errno;
  volatile uint32_t* wipe = buf.data();
  for (size_t i = 0; i < buf.size(); ++i) wipe[i] = 0;
  errno = err;
  if (rc != 0) fail_sys("crediting the host's entropy (RNDADDENTROPY)");
  if (::ioctl(fd.get(), RNDRESEEDCRNG) != 0) fail_sys("reseeding the kernel CRNG (RNDRESEEDCRNG)");
}

void set_wall_clock(int64_t unix_time_ns) {
  timespec ts{time_t(unix_time_ns / 1000000000), long(unix_time_ns % 1000000000)};
  if (::clock_settime(CLOCK_REALTIME, &ts) != 0) fail_sys("setting the wall clock");
}

}  // namespace mcpvm::guest
