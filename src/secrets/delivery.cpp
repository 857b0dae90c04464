#include "secrets/delivery.h"

#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/error.h"
#include "util/fs.h"

extern char** environ;

namespace mcpvm::secrets {

namespace {

constexpr size_t kMaxDeliveryBytes = 8u << 20;

std::string tried(const std::string& name, const SecretStore& store, bool store_exists) {
  return fmt::format("tried: environment variable {}, secret store {}{}", env_provider_var(name),
                     store.path().string(), store_exists ? "" : " (absent)");
}

std::string to_hex(const uint8_t* bytes, size_t n) {
  std::string hex(n * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();
  return hex;
}

void from_hex(std::string_view hex, uint8_t* out, size_t n, const char* what) {
  size_t len = 0;
  if (hex.size() != n * 2 || sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &len, nullptr) != 0 ||
      len != n)
    fail("delivery: bad {}", what);
}

// Wipes every string of a JSON value (the copies nlohmann made of secret values).
void wipe_json(nlohmann::json& j) {
  if (j.is_string()) wipe(j.get_ref<std::string&>());
  if (j.is_structured())
    for (auto& item : j) wipe_json(item);
}

}  // namespace

Delivery prepare_delivery(const std::vector<SecretRef>& refs, const SecretStore& store) {
  Delivery d;
  d.store = store.path();
  std::optional<SecretStore::Unlocked> unlocked;
  bool store_read = false;
  for (const auto& ref : refs) {
    check_secret_name(ref.name);
    if (const char* v = std::getenv(env_provider_var(ref.name).c_str())) {
      d.env_values.set(ref.name, v);
      continue;
    }
    if (!store_read) {
      unlocked = store.unlock();
      store_read = true;
    }
    if (!unlocked || !unlocked->entries.find(ref.name))
      fail("secret {}: not found ({}): add it with `mcpvm secret set {}`", ref.name,
           tried(ref.name, store, unlocked.has_value()), ref.name);
  }
  if (unlocked) {
    d.key = std::move(unlocked->key);
    d.kdf = unlocked->kdf;
  }
  return d;
}

std::vector<std::string> resolve_env(const std::vector<SecretRef>& refs, const Delivery& d) {
  std::vector<std::string> env;
  std::optional<SecretMap> stored;
  bool store_read = false;
  SecretStore store(d.store);
  for (const auto& ref : refs) {
    const std::string* value = d.env_values.find(ref.name);
    if (!value) {
      if (!store_read && d.key) stored = store.read_with(*d.key, d.kdf);
      store_read = true;
      if (stored) value = stored->find(ref.name);
    }
    if (!value) {
      wipe(env);
      fail("secret {}: not found ({}){}", ref.name, tried(ref.name, store, store.exists()),
           d.key ? fmt::format(": add it with `mcpvm secret set {}` and start the VM again", ref.name)
                 : std::string(": the VM was started without access to the store; start it again"));
    }
    env.push_back(ref.target + "=" + *value);
  }
  return env;
}

std::string encode_delivery(const Delivery& d) {
  nlohmann::json j{{"version", 1}, {"store", d.store.string()}, {"env", nlohmann::json::object()}};
  if (d.key) {
    j["key"] = to_hex(d.key->data(), d.key->size());
    j["kdf"] = {{"opslimit", d.kdf.opslimit},
                {"memlimit_kib", d.kdf.memlimit_kib},
                {"salt", to_hex(d.kdf.salt.data(), d.kdf.salt.size())}};
  }
  for (const auto& [name, value] : d.env_values.entries()) j["env"][name] = value;
  std::string text = j.dump();
  wipe_json(j);
  return text;
}

Delivery decode_delivery(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    fail("delivery: not valid JSON");
  }
  struct Wiper {
    nlohmann::json& j;
    ~Wiper() { wipe_json(j); }
  } wiper{j};
  if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("store") || !j["store"].is_string() ||
      !j.contains("env") || !j["env"].is_object())
    fail("delivery: expected {{\"version\":1,\"store\":...,\"env\":{{...}}}}");
  Delivery d;
  d.store = j["store"].get<std::string>();
  for (auto& [name, value] : j["env"].items()) {
    check_secret_name(name);
    if (!value.is_string()) fail("delivery: the value of {} is not a string", name);
    d.env_values.set(name, value.get_ref<const std::string&>());
  }
  if (j.contains("key")) {
    const auto& kdf = j.at("kdf");
    if (!j["key"].is_string() || !kdf.is_object()) fail("delivery: bad key");
    d.key.emplace();
    from_hex(j["key"].get_ref<const std::string&>(), d.key->data(), d.key->size(), "key");
    d.kdf.opslimit = kdf.at("opslimit").get<uint32_t>();
    d.kdf.memlimit_kib = kdf.at("memlimit_kib").get<uint32_t>();
    from_hex(kdf.at("salt").get<std::string>(), d.kdf.salt.data(), d.kdf.salt.size(), "salt");
  }
  return d;
}

void send_delivery(int fd, const Delivery& d) {
  std::string text = encode_delivery(d);
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      wipe(text);
      fail_errno("handing the secrets to the runner");
    }
    rest.remove_prefix(size_t(n));
  }
  wipe(text);
  ::shutdown(fd, SHUT_WR);
}

Delivery receive_delivery(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("reading the secrets from the CLI");
    if (n == 0) break;
    text.append(buf, size_t(n));
    if (text.size() > kMaxDeliveryBytes) {
      wipe(text);
      sodium_memzero(buf, sizeof buf);
      fail("reading the secrets from the CLI: more than {} bytes", kMaxDeliveryBytes);
    }
  }
  sodium_memzero(buf, sizeof buf);
  try {
    Delivery d = decode_delivery(text);
    wipe(text);
    return d;
  } catch (...) {
    wipe(text);
    throw;
  }
}

bool is_secret_variable(std::string_view entry) {
  std::string_view name = entry.substr(0, entry.find('='));
  return name.substr(0, std::strlen(kEnvProviderPrefix)) == kEnvProviderPrefix || name == kPassphraseVar;
}

std::vector<std::string> environment_without_secrets() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (!is_secret_variable(*e)) env.emplace_back(*e);
  return env;
}

void remove_secrets_from_environment() {
  std::vector<std::string> names;
  for (char** e = environ; e && *e; ++e)
    if (is_secret_variable(*e)) {
      std::string_view entry(*e);
      names.emplace_back(entry.substr(0, entry.find('=')));
    }
  for (const auto& n : names) ::unsetenv(n.c_str());
}

}  // namespace mcpvm::secrets
