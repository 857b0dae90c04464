#include "vm/template_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace mcpvm::vm {

namespace fs = std::filesystem;

nlohmann::json to_json_value(const TemplateInputs& in) {
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& [name, sha] : in.modules) modules.push_back({name, sha});
  return nlohmann::json{{"format", in.format},           {"kernel_sha256", in.kernel_sha256},
                        {"init_sha256", in.init_sha256}, {"modules", modules},
                        {"qemu_sha256", in.qemu_sha256}, {"qemu_version", in.qemu_version},
                        {"machine", in.machine},         {"kernel_cmdline", in.kernel_cmdline},
                        {"memory_mib", in.memory_mib},   {"cpus", in.cpus}};
}

std::string template_key(const TemplateInputs& inputs) {
  return Sha256::hex(to_json_value(inputs).dump());  // nlohmann sorts object keys: canonical
}

std::string file_sha256_memoized(const fs::path& file, const fs::path& memo_dir) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("opening {}", file.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno("stat {}", file.string());
  std::string identity =
      fmt::format("{}|{}|{}|{}|{}.{}|{}.{}", file.string(), st.st_dev, st.st_ino, st.st_size,
                  st.st_mtim.tv_sec, st.st_mtim.tv_nsec, st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  fs::path memo = memo_dir / Sha256::hex(identity);
  std::error_code ec;
  if (fs::exists(memo, ec)) {
    std::string cached = read_file(memo, 128);
    if (cached.size() == 64) return cached;
  }
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("reading {}", file.string());
    if (n == 0) break;
    h.update(buf, size_t(n));
  }
  std::string digest = h.hex_digest();
  make_private_dirs(memo_dir);
  write_file_atomic(memo, digest);
  return digest;
}

}  // namespace mcpvm::vm
