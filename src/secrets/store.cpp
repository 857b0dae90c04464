#include "secrets/store.h"

#include <cerrno>

#include "secrets/keyring.h"
#include "secrets/name.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"

namespace mcpvm::secrets {

namespace {

constexpr size_t kMaxStoreBytes = 16u << 20;

}  // namespace

SecretStore::SecretStore(std::filesystem::path file) : file_(std::move(file)) {}

SecretStore SecretStore::default_store() {
  return SecretStore(mcpvm_home() / "secrets" / "store");
}

bool SecretStore::exists() const {
  std::error_code ec;
  return std::filesystem::exists(file_, ec);
}

std::optional<std::string> SecretStore::read_file_if_present() const {
  if (!exists()) return std::nullopt;
  check_private_dir(file_.parent_path());
  return read_file(file_, kMaxStoreBytes);
}

SecretStore::Unlocked SecretStore::unlock_contents(const std::string& contents) const {
  KdfParams kdf = parse_header(contents);
  ObtainedKey k = obtain_key(file_, kdf);
  std::optional<SecretMap> entries;
  try {
    entries = open_store(contents, k.key);
  } catch (const Error&) {
    if (k.source != KeySource::keyring) throw;
    keyring_forget(file_);  // stale (the passphrase changed): ask the next source
    k = obtain_key(file_, kdf, {.skip_keyring = true});
    entries = open_store(contents, k.key);
  }
  if (k.source == KeySource::prompt) keyring_save(file_, kdf, k.key);
  return {std::move(k.key), kdf, std::move(*entries)};
}

std::optional<SecretStore::Unlocked> SecretStore::unlock() const {
  return with_context("secret store " + file_.string(), [&]() -> std::optional<Unlocked> {
    auto contents = read_file_if_present();
    if (!contents) return std::nullopt;
    return unlock_contents(*contents);
  });
}

std::optional<SecretMap> SecretStore::read_with(const StoreKey& key, const KdfParams& kdf) const {
  return with_context("secret store " + file_.string(), [&]() -> std::optional<SecretMap> {
    auto contents = read_file_if_present();
    if (!contents) return std::nullopt;
    if (!(parse_header(*contents) == kdf))
      fail("it was recreated with another passphrase since this VM was started: start the VM again");
    return open_store(*contents, key);
  });
}

void SecretStore::update(const std::function<bool(SecretMap&)>& change) {
  with_context("secret store " + file_.string(), [&] {
    make_private_dirs(file_.parent_path());
    check_private_dir(file_.parent_path());
    FileLock lock(file_.parent_path() / (file_.filename().string() + ".lock"));
    std::optional<Unlocked> current;
    if (auto contents = read_file_if_present()) current = unlock_contents(*contents);
    if (!current) {
      KdfParams kdf = new_kdf_params();
      ObtainedKey k = obtain_key(file_, kdf, {.creating = true});
      if (k.source == KeySource::prompt) keyring_save(file_, kdf, k.key);
      current = Unlocked{std::move(k.key), kdf, SecretMap{}};
    }
    if (!change(current->entries)) return;
    std::string sealed = seal_store(current->kdf, current->key, current->entries);
    write_file_atomic(file_, sealed, 0600);
  });
}

void SecretStore::set(const std::string& name, std::string_view value) {
  check_secret_name(name);
  update([&](SecretMap& m) {
    m.set(name, value);
    return true;
  });
}

bool SecretStore::remove(const std::string& name) {
  check_secret_name(name);
  if (!exists()) return false;
  bool removed = false;
  update([&](SecretMap& m) { return removed = m.erase(name); });
  return removed;
}

std::vector<std::string> SecretStore::names() const {
  std::vector<std::string> out;
  if (auto u = unlock())
    for (const auto& [name, value] : u->entries.entries()) out.push_back(name);
  return out;
}

}  // namespace mcpvm::secrets
