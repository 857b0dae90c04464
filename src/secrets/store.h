// The encrypted secret store: one file, $MCPVM_HOME/secrets/store (directory 0700, file 0600), format in
// store_format.h. Every change is read-modify-write under an exclusive lock (secrets/store.lock) and
// published atomically (temp + fsync + rename), so concurrent `mcpvm secret set` from several processes
// lose nothing and a failure at any point leaves the previous file as it was. A wrong passphrase or a
// damaged file is an error that changes nothing.
//
// Thread-safety: a SecretStore is a path; concurrent use from threads or processes is safe through the lock.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "secrets/key_source.h"
#include "secrets/store_format.h"

namespace mcpvm::secrets {

class SecretStore {
 public:
  explicit SecretStore(std::filesystem::path file);
  // $MCPVM_HOME/secrets/store.
  static SecretStore default_store();

  const std::filesystem::path& path() const { return file_; }
  bool exists() const;

  struct Unlocked {
    StoreKey key;
    KdfParams kdf;
    SecretMap entries;
  };
  // Reads the store with a key from the key sources (key_source.h); a cached key that fails is dropped and
  // the next source asked; a typed passphrase that worked is cached in the keyring. nullopt: no store yet.
  // Throws Error prefixed "secret store PATH: " (wrong passphrase, damaged file, locked).
  std::optional<Unlocked> unlock() const;

  // Reads the store with a key obtained earlier (the runner's). kdf: the parameters the key belongs to;
  // a store recreated since (another salt) is an error saying so. nullopt: no store.
  std::optional<SecretMap> read_with(const StoreKey& key, const KdfParams& kdf) const;

  // Under the lock: the current entries (none for a new store, which then gets fresh KDF parameters and
  // asks for a new passphrase), changed by `change`, sealed and written atomically. `change` returns false
  // when it changed nothing: the file is then left as it is.
  void update(const std::function<bool(SecretMap&)>& change);

  void set(const std::string& name, std::string_view value);
  bool remove(const std::string& name);    // false: there was no such secret
  std::vector<std::string> names() const;  // sorted; empty when there is no store

 private:
  std::optional<std::string> read_file_if_present() const;
  Unlocked unlock_contents(const std::string& contents) const;

  std::filesystem::path file_;
};

}  // namespace mcpvm::secrets
