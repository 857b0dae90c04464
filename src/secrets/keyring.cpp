#include "secrets/keyring.h"

#include <keyutils.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>

namespace mcpvm::secrets {

namespace {

constexpr size_t kPayloadBytes = kSaltBytes + kKeyBytes;

key_serial_t find_key(const std::filesystem::path& store) {
  long id = keyctl_search(KEY_SPEC_USER_KEYRING, "user", keyring_description(store).c_str(), 0);
  return id < 0 ? -1 : key_serial_t(id);
}

}  // namespace

std::string keyring_description(const std::filesystem::path& store) {
  return "mcpvm:secrets:" + std::filesystem::absolute(store).lexically_normal().string();
}

std::optional<StoreKey> keyring_load(const std::filesystem::path& store, const KdfParams& kdf) {
  key_serial_t id = find_key(store);
  if (id < 0) return std::nullopt;
  void* raw = nullptr;
  long n = keyctl_read_alloc(id, &raw);
  if (n < 0 || !raw) return std::nullopt;
  std::optional<StoreKey> key;
  auto* bytes = static_cast<uint8_t*>(raw);
  if (size_t(n) == kPayloadBytes && std::memcmp(bytes, kdf.salt.data(), kSaltBytes) == 0) {
    key.emplace();
    std::memcpy(key->data(), bytes + kSaltBytes, kKeyBytes);
  }
  sodium_memzero(raw, size_t(n));
  std::free(raw);
  return key;
}

bool keyring_save(const std::filesystem::path& store, const KdfParams& kdf, const StoreKey& key,
                  std::chrono::seconds timeout) {
  uint8_t payload[kPayloadBytes];
  std::memcpy(payload, kdf.salt.data(), kSaltBytes);
  std::memcpy(payload + kSaltBytes, key.data(), kKeyBytes);
  key_serial_t id =
      add_key("user", keyring_description(store).c_str(), payload, sizeof payload, KEY_SPEC_USER_KEYRING);
  sodium_memzero(payload, sizeof payload);
  if (id < 0) return false;
  // Only this user may see it (the default also lets "possessors" read it, which is the same user here).
  keyctl_setperm(id, KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_WRITE | KEY_USR_SETATTR);
  keyctl_set_timeout(id, unsigned(timeout.count()));
  return true;
}

void keyring_forget(const std::filesystem::path& store) {
  key_serial_t id = find_key(store);
  if (id >= 0) {
    keyctl_invalidate(id);
    keyctl_unlink(id, KEY_SPEC_USER_KEYRING);
  }
}

}  // namespace mcpvm::secrets
