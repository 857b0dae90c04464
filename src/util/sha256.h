// Incremental SHA-256 (OpenSSL), for content addressing and digest verification.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace mcpvm {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lower-case hex of the digest. The hasher must not be used afterwards.
  std::string hex_digest();

  static std::string hex(std::string_view data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpvm
