// Secret material in memory: the store key (in libsodium's guarded, locked, never-swapped allocation) and
// wiping of ordinary strings that held a secret value. Wiping is best effort for std::string (a value may
// have been copied by a reallocation before); the key itself never lives outside its guarded page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::secrets {

inline constexpr size_t kKeyBytes = 32;   // crypto_aead_xchacha20poly1305_ietf_KEYBYTES
inline constexpr size_t kSaltBytes = 16;  // crypto_pwhash_SALTBYTES

// Initialises libsodium once (thread-safe); throws Error when it cannot.
void init_sodium();

// The store's symmetric key. Move-only; the bytes are wiped and freed on destruction.
class StoreKey {
 public:
  StoreKey();  // allocated, all zero
  StoreKey(StoreKey&& other) noexcept;
  StoreKey& operator=(StoreKey&& other) noexcept;
  StoreKey(const StoreKey&) = delete;
  StoreKey& operator=(const StoreKey&) = delete;
  ~StoreKey();

  uint8_t* data() { return bytes_; }
  const uint8_t* data() const { return bytes_; }
  static constexpr size_t size() { return kKeyBytes; }

 private:
  uint8_t* bytes_ = nullptr;
};

// Overwrites the string's bytes (sodium_memzero, which the compiler may not remove) and clears it.
void wipe(std::string& s);
void wipe(std::vector<std::string>& v);
void wipe_buffer(void* data, size_t size);

// A name → value map whose values are wiped when it is destroyed or cleared.
class SecretMap {
 public:
  SecretMap() = default;
  SecretMap(SecretMap&&) noexcept = default;
  SecretMap& operator=(SecretMap&& other) noexcept;
  SecretMap(const SecretMap&) = delete;
  SecretMap& operator=(const SecretMap&) = delete;
  ~SecretMap();

  std::map<std::string, std::string>& entries() { return entries_; }
  const std::map<std::string, std::string>& entries() const { return entries_; }
  const std::string* find(const std::string& name) const;
  void set(const std::string& name, std::string_view value);
  bool erase(const std::string& name);

 private:
  void clear();
  std::map<std::string, std::string> entries_;
};

}  // namespace mcpvm::secrets
