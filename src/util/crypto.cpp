#include "util/crypto.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <fmt/format.h>

#include <vector>

#include "util/error.h"

namespace mcpvm {

std::string random_hex(size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (bytes && RAND_bytes(raw.data(), int(bytes)) != 1) fail("OpenSSL's random generator failed");
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char b : raw) out += fmt::format("{:02x}", b);
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace mcpvm
