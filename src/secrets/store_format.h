// The secret store's file format (pure functions; the file handling is store.h's).
//
//   offset size
//   0      8    magic "MCPVMSEC"
//   8      1    format version (1)
//   9      1    KDF: 1 = Argon2id v1.3 (crypto_pwhash_ALG_ARGON2ID13)
//   10     2    reserved, 0
//   12     4    KDF opslimit (u32, little-endian)
//   16     4    KDF memlimit in KiB (u32, little-endian)
//   20     16   KDF salt
//   36     24   nonce
//   60     ...  XChaCha20-Poly1305 (IETF) ciphertext + 16-byte tag of a JSON object {"NAME":"value",...};
//               the 60 header bytes are its associated data, so a changed header fails authentication.
// The key is Argon2id(passphrase, salt, opslimit, memlimit); salt and KDF parameters are chosen when the
// store is created and kept by every rewrite (a cached key stays valid); the nonce is fresh per write.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "secrets/key.h"

namespace mcpvm::secrets {

inline constexpr size_t kStoreHeaderBytes = 60;
inline constexpr uint8_t kStoreVersion = 1;

struct KdfParams {
  uint32_t opslimit = 2;              // crypto_pwhash_OPSLIMIT_INTERACTIVE
  uint32_t memlimit_kib = 64 * 1024;  // crypto_pwhash_MEMLIMIT_INTERACTIVE (64 MiB)
  std::array<uint8_t, kSaltBytes> salt{};
  bool operator==(const KdfParams&) const = default;
};

// Fresh parameters for a new store: the defaults above with a random salt.
KdfParams new_kdf_params();

// The KDF parameters of a store file. Throws Error ("not an mcpvm secret store", "truncated", "version N
// is newer", "KDF parameters out of range") for anything else; never allocates by the file's say-so beyond
// the bounded limits checked here.
KdfParams parse_header(std::string_view file);

// Argon2id of the passphrase. Throws Error when libsodium cannot (out of memory).
StoreKey derive_key(std::string_view passphrase, const KdfParams& kdf);

// The whole file for these entries, encrypted with key under a fresh nonce.
std::string seal_store(const KdfParams& kdf, const StoreKey& key, const SecretMap& entries);

// The entries of a store file. Throws Error "wrong passphrase or damaged store" when authentication fails
// (the two cannot be told apart by design), or a format error from parse_header.
SecretMap open_store(std::string_view file, const StoreKey& key);

}  // namespace mcpvm::secrets
