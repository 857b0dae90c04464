#include "guest/module_signature.h"

#include <cstdint>

namespace mcpvm::guest {

namespace {

constexpr std::string_view kMagic = "~Module signature appended~\n";
// struct module_signature: algo, hash, id_type, signer_len, key_id_len, 3 bytes padding, __be32 sig_len.
constexpr std::size_t kInfoSize = 12;
constexpr unsigned char kIdPkcs7 = 2;

}  // namespace

std::size_t unsigned_module_size(std::string_view module) {
  if (module.size() < kMagic.size() + kInfoSize || !module.ends_with(kMagic)) return module.size();
  std::string_view info = module.substr(module.size() - kMagic.size() - kInfoSize, kInfoSize);
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(info[i]); };
  // The kernel accepts only PKCS#7 with the signer and key id inside it (mod_check_sig).
  if (byte(2) != kIdPkcs7 || byte(3) != 0 || byte(4) != 0) return module.size();
  uint64_t sig_len =
      (uint64_t(byte(8)) << 24) | (uint64_t(byte(9)) << 16) | (uint64_t(byte(10)) << 8) | byte(11);
  uint64_t trailer = sig_len + kInfoSize + kMagic.size();
  if (sig_len == 0 || trailer > module.size()) return module.size();
  return module.size() - trailer;
}

}  // namespace mcpvm::guest
