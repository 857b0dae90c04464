// The providers `--secret NAME,target=ENV` is resolved against, and what the CLI hands a VM's runner.
//
// Provider order: the environment provider (MCPVM_SECRET_<NAME>, read-only) first, then the encrypted
// store. The CLI (`run`, `start`, `restart`) resolves every reference before any VM boots, so a missing
// secret fails at once, naming the secret and the providers tried. It then hands the runner a Delivery over
// a socket inherited at spawn (fd kDeliveryFd; never argv, environment or a file): the environment
// provider's values and, when the store serves any reference, the store's key. The runner keeps it in
// memory and resolves again at each boot (resolve_env), so a secret removed from the store fails the next
// boot with the same clarity. Processes we start never inherit MCPVM_SECRET_* or MCPVM_SECRETS_PASSPHRASE.
//
// Thread-safety: a Delivery is read-only after it is built; resolve_env may run on several threads at once
// (the runner's boot and its exec sessions).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "secrets/name.h"
#include "secrets/store.h"

namespace mcpvm::secrets {

// The runner's descriptor for the Delivery socket.
inline constexpr int kDeliveryFd = 3;

struct Delivery {
  std::filesystem::path store;  // the store the key opens
  std::optional<StoreKey> key;  // set when some reference is served by the store
  KdfParams kdf;                // the parameters the key belongs to
  SecretMap env_values;         // the environment provider's values, by secret name
};

// Resolves every reference now. Throws Error: "secret NAME: not found (tried: environment variable
// MCPVM_SECRET_NAME, secret store PATH): ...", or the store's own error (locked, wrong passphrase).
Delivery prepare_delivery(const std::vector<SecretRef>& refs, const SecretStore& store);

// The env layer for the guest: "TARGET=value" for every reference, from the delivery's environment values,
// else the store read again with the delivery's key. Throws Error naming a secret that is gone.
std::vector<std::string> resolve_env(const std::vector<SecretRef>& refs, const Delivery& delivery);

// Wire form of a Delivery (JSON; the caller wipes it). decode_delivery throws Error on anything malformed.
std::string encode_delivery(const Delivery& delivery);
Delivery decode_delivery(std::string_view text);

// Writes the delivery to a socket and shuts down its write side; reads one until EOF (bounded size).
void send_delivery(int fd, const Delivery& delivery);
Delivery receive_delivery(int fd);

// True for MCPVM_SECRET_* and MCPVM_SECRETS_PASSPHRASE entries ("NAME=value" or "NAME").
bool is_secret_variable(std::string_view entry);
// This process's environment without those, for a child's SpawnOptions::env.
std::vector<std::string> environment_without_secrets();
// Removes them from this process's environment (for children that inherit it, e.g. QEMU).
void remove_secrets_from_environment();

}  // namespace mcpvm::secrets
