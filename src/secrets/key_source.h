// Where the store key comes from, in this order (docs/SECURITY.md "Secrets" says what each protects):
//   1. MCPVM_SECRETS_PASSPHRASE in the environment (derived with the store's Argon2id parameters);
//   2. a key cached in the kernel user keyring for this store (keyring.h);
//   3. a hidden prompt on the terminal, when stdin is one (the key is then cached in the keyring by the
//      caller once it proved right).
// A desktop keyring (Secret Service over D-Bus) is not supported yet.
#pragma once

#include <filesystem>

#include "secrets/store_format.h"

namespace mcpvm::secrets {

enum class KeySource { env_passphrase, keyring, prompt };
const char* to_string(KeySource s);

struct ObtainedKey {
  StoreKey key;
  KeySource source;
};

struct KeyRequest {
  bool creating = false;      // a new store: a prompt asks twice
  bool skip_keyring = false;  // the cached key just failed: do not offer it again
};

// Throws Error when no source gives a key: "the secret store is locked: set MCPVM_SECRETS_PASSPHRASE
// (no terminal to ask for the passphrase)", or when the prompt's two entries differ or are empty.
ObtainedKey obtain_key(const std::filesystem::path& store, const KdfParams& kdf, KeyRequest request = {});

// A hidden line read from the terminal on stdin (echo off), the prompt on stderr. Throws Error when
// stdin is not a terminal. The caller wipes the result.
std::string read_hidden_line(const char* prompt);

}  // namespace mcpvm::secrets
