#include "secrets/store_format.h"

#include <sodium.h>

#include <nlohmann/json.hpp>

#include <cstring>

#include "secrets/name.h"
#include "util/error.h"

namespace mcpvm::secrets {

namespace {

constexpr char kMagic[8] = {'M', 'C', 'P', 'V', 'M', 'S', 'E', 'C'};
constexpr uint8_t kKdfArgon2id = 1;
constexpr size_t kNonceOffset = 36;
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
static_assert(kNonceOffset + kNonceBytes == kStoreHeaderBytes);
// Bounds on what a store file may ask of the KDF: a hostile or damaged header must not make us allocate
// gigabytes or spin for minutes.
constexpr uint32_t kMaxOpslimit = 16;
constexpr uint32_t kMaxMemlimitKib = 1024 * 1024;  // 1 GiB

void put_u32(std::string& out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[at + size_t(i)] = char((v >> (8 * i)) & 0xff);
}

uint32_t get_u32(std::string_view in, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(uint8_t(in[at + size_t(i)])) << (8 * i);
  return v;
}

std::string header_bytes(const KdfParams& kdf) {
  std::string h(kStoreHeaderBytes, '\0');
  std::memcpy(h.data(), kMagic, sizeof kMagic);
  h[8] = char(kStoreVersion);
  h[9] = char(kKdfArgon2id);
  put_u32(h, 12, kdf.opslimit);
  put_u32(h, 16, kdf.memlimit_kib);
  std::memcpy(h.data() + 20, kdf.salt.data(), kSaltBytes);
  randombytes_buf(h.data() + kNonceOffset, kNonceBytes);
  return h;
}

// The JSON plaintext, built and parsed by hand so that no library keeps copies of values around.
std::string encode_entries(const SecretMap& entries) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, value] : entries.entries()) j[name] = value;
  std::string text = j.dump();
  for (auto& [name, value] : j.items()) wipe(value.get_ref<std::string&>());
  return text;
}

SecretMap decode_entries(std::string& plaintext) {
  SecretMap out;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(plaintext);
  } catch (const nlohmann::json::exception&) {
    wipe(plaintext);
    fail("the store's content is not valid JSON (damaged store)");
  }
  wipe(plaintext);
  if (!j.is_object()) fail("the store's content is not a JSON object (damaged store)");
  for (auto& [name, value] : j.items()) {
    if (!value.is_string()) fail("the store's entry {:?} is not a string (damaged store)", name);
    check_secret_name(name);
    out.set(name, value.get_ref<const std::string&>());
    wipe(value.get_ref<std::string&>());
  }
  return out;
}

}  // namespace

KdfParams new_kdf_params() {
  init_sodium();
  KdfParams kdf;
  kdf.opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  kdf.memlimit_kib = uint32_t(crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024);
  randombytes_buf(kdf.salt.data(), kdf.salt.size());
  return kdf;
}

KdfParams parse_header(std::string_view file) {
  if (file.size() < sizeof kMagic || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0)
    fail("not an mcpvm secret store (bad magic)");
  if (file.size() < kStoreHeaderBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES)
    fail("the store is truncated ({} bytes)", file.size());
  uint8_t version = uint8_t(file[8]);
  if (version != kStoreVersion)
    fail("store format version {} (this mcpvm reads {}): upgrade mcpvm", version, kStoreVersion);
  if (uint8_t(file[9]) != kKdfArgon2id || file[10] != 0 || file[11] != 0)
    fail("unknown key derivation in the store header (damaged store)");
  KdfParams kdf;
  kdf.opslimit = get_u32(file, 12);
  kdf.memlimit_kib = get_u32(file, 16);
  if (kdf.opslimit < crypto_pwhash_OPSLIMIT_MIN || kdf.opslimit > kMaxOpslimit ||
      kdf.memlimit_kib < crypto_pwhash_MEMLIMIT_MIN / 1024 || kdf.memlimit_kib > kMaxMemlimitKib)
    fail("KDF parameters out of range in the store header (damaged store)");
  std::memcpy(kdf.salt.data(), file.data() + 20, kSaltBytes);
  return kdf;
}

StoreKey derive_key(std::string_view passphrase, const KdfParams& kdf) {
  init_sodium();
  StoreKey key;
  if (crypto_pwhash(key.data(), key.size(), passphrase.data(), passphrase.size(), kdf.salt.data(),
                    kdf.opslimit, size_t(kdf.memlimit_kib) * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0)
    fail("deriving the store key failed (out of memory?)");
  return key;
}

std::string seal_store(const KdfParams& kdf, const StoreKey& key, const SecretMap& entries) {
  init_sodium();
  std::string plaintext = encode_entries(entries);
  std::string out = header_bytes(kdf);
  out.resize(kStoreHeaderBytes + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long written = 0;
  auto* header = reinterpret_cast<const unsigned char*>(out.data());
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(out.data()) + kStoreHeaderBytes, &written,
      reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(), header, kStoreHeaderBytes,
      nullptr, header + kNonceOffset, key.data());
  wipe(plaintext);
  out.resize(kStoreHeaderBytes + size_t(written));
  return out;
}

SecretMap open_store(std::string_view file, const StoreKey& key) {
  parse_header(file);
  init_sodium();
  size_t cipher_len = file.size() - kStoreHeaderBytes;
  std::string plaintext(cipher_len - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  auto* bytes = reinterpret_cast<const unsigned char*>(file.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plaintext.data()), &len,
                                                 nullptr, bytes + kStoreHeaderBytes, cipher_len, bytes,
                                                 kStoreHeaderBytes, bytes + kNonceOffset, key.data()) != 0) {
    wipe(plaintext);
    fail("wrong passphrase, or the store is damaged (authentication failed)");
  }
  plaintext.resize(size_t(len));
  return decode_entries(plaintext);
}

}  // namespace mcpvm::secrets
