// The store key cached in the Linux kernel's user keyring (keyutils), so that a passphrase typed once is
// not asked again for a while. The entry is a "user" key described "mcpvm:secrets:<store path>" holding
// the store's salt and key; it expires after its timeout. The kernel keeps it out of swap and files; any
// process of the same user can read it while it lives (docs/SECURITY.md "Secrets").
//
// Every function is best effort: a kernel or sandbox without keyrings (seccomp often blocks keyctl in
// containers) makes load return nullopt and save/forget do nothing.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "secrets/store_format.h"

namespace mcpvm::secrets {

inline constexpr std::chrono::seconds kKeyringTimeout{15 * 60};

std::string keyring_description(const std::filesystem::path& store);

// The cached key for this store, if one is cached for the same salt.
std::optional<StoreKey> keyring_load(const std::filesystem::path& store, const KdfParams& kdf);

// Caches the key (replacing an older entry) with the given timeout. Returns false when it could not.
bool keyring_save(const std::filesystem::path& store, const KdfParams& kdf, const StoreKey& key,
                  std::chrono::seconds timeout = kKeyringTimeout);

// Drops the cached key (after it failed to open the store).
void keyring_forget(const std::filesystem::path& store);

}  // namespace mcpvm::secrets
