#include "secrets/key.h"

#include <sodium.h>

#include <utility>

#include "util/error.h"

namespace mcpvm::secrets {

static_assert(kKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kSaltBytes == crypto_pwhash_SALTBYTES);

void init_sodium() {
  static const int status = sodium_init();  // thread-safe; < 0 only when no entropy source works
  if (status < 0) fail("cannot initialise libsodium");
}

StoreKey::StoreKey() {
  init_sodium();
  bytes_ = static_cast<uint8_t*>(sodium_malloc(kKeyBytes));
  if (!bytes_) fail("cannot allocate protected memory for the secret store key");
  sodium_memzero(bytes_, kKeyBytes);
}

StoreKey::StoreKey(StoreKey&& other) noexcept : bytes_(std::exchange(other.bytes_, nullptr)) {}

StoreKey& StoreKey::operator=(StoreKey&& other) noexcept {
  if (this != &other) {
    if (bytes_) sodium_free(bytes_);  // sodium_free wipes before freeing
    bytes_ = std::exchange(other.bytes_, nullptr);
  }
  return *this;
}

StoreKey::~StoreKey() {
  if (bytes_) sodium_free(bytes_);
}

void wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

void wipe_buffer(void* data, size_t size) {
  sodium_memzero(data, size);
}

void wipe(std::vector<std::string>& v) {
  for (auto& s : v) wipe(s);
  v.clear();
}

SecretMap& SecretMap::operator=(SecretMap&& other) noexcept {
  if (this != &other) {
    clear();
    entries_ = std::move(other.entries_);
  }
  return *this;
}

SecretMap::~SecretMap() {
  clear();
}

void SecretMap::clear() {
  for (auto& [name, value] : entries_) wipe(value);
  entries_.clear();
}

const std::string* SecretMap::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

void SecretMap::set(const std::string& name, std::string_view value) {
  std::string& slot = entries_[name];
  wipe(slot);
  slot.assign(value);
}

bool SecretMap::erase(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return false;
  wipe(it->second);
  entries_.erase(it);
  return true;
}

}  // namespace mcpvm::secrets
