// `mcpvm secret set NAME | ls [--json] | rm NAME`: the encrypted secret store (secrets/store.h) that
// `run --secret NAME,target=ENV` reads. A value comes from stdin (or a hidden prompt on a terminal), never
// from the command line, where other users could see it in /proc and the shell would keep it in history.
#include <unistd.h>

#include <iostream>

#include "cli/command.h"
#include "secrets/key_source.h"
#include "secrets/name.h"
#include "secrets/store.h"
#include "util/error.h"

namespace mcpvm::cli {
namespace {

constexpr size_t kMaxValueBytes = 1 << 20;

struct SecretOptions {
  std::string name;
  bool json = false;
};

// The value: a hidden prompt on a terminal, else all of stdin (one trailing newline dropped, as
// `echo TOKEN | mcpvm secret set x` means TOKEN).
std::string read_value() {
  if (::isatty(0)) return secrets::read_hidden_line("Value: ");
  std::string value;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(0, buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("reading the value from stdin");
    value.append(buf, size_t(n));
    if (value.size() > kMaxValueBytes) {
      secrets::wipe(value);
      fail("the value is larger than {} bytes", kMaxValueBytes);
    }
  }
  secrets::wipe_buffer(buf, sizeof buf);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  return value;
}

int secret_set(const SecretOptions& o) {
  secrets::check_secret_name(o.name);
  std::string value = read_value();
  if (value.empty())
    fail("secret {}: empty value (give it on stdin: printf %s \"$TOKEN\" | mcpvm secret set {})", o.name,
         o.name);
  try {
    secrets::SecretStore::default_store().set(o.name, value);
  } catch (...) {
    secrets::wipe(value);
    throw;
  }
  secrets::wipe(value);
  std::cerr << "secret " << o.name << " saved\n";
  return 0;
}

int secret_ls(const SecretOptions& o) {
  auto names = secrets::SecretStore::default_store().names();
  if (o.json) {
    print_json(names);
    return 0;
  }
  for (const auto& n : names) std::cout << n << "\n";
  return 0;
}

int secret_rm(const SecretOptions& o) {
  if (!secrets::SecretStore::default_store().remove(o.name)) fail("no such secret: {}", o.name);
  std::cerr << "secret " << o.name << " removed\n";
  return 0;
}

const Command kSecret{
    "secret", "Manage the encrypted secret store (set, ls, rm)", 60, [](CLI::App& app) {
      auto o = std::make_shared<SecretOptions>();
      app.require_subcommand(1);
      auto* set = app.add_subcommand("set", "Store a secret; the value comes from stdin or a hidden prompt");
      set->add_option("name", o->name, "Secret name ([A-Za-z0-9_.-], up to 64)")->required();
      auto* ls = app.add_subcommand("ls", "List the secrets' names (never their values)");
      ls->add_flag("--json", o->json, "Print a JSON array of names");
      auto* rm = app.add_subcommand("rm", "Remove a secret");
      rm->add_option("name", o->name, "Secret name")->required();
      app.footer(
          "Examples:\n"
          "  printf %s \"$TOKEN\" | mcpvm secret set github\n"
          "  mcpvm run --secret github,target=GITHUB_PERSONAL_ACCESS_TOKEN IMAGE\n"
          "The store's key: MCPVM_SECRETS_PASSPHRASE, else a key cached in the kernel keyring, else a "
          "prompt\n"
          "(docs/SECURITY.md \"Secrets\"). MCPVM_SECRET_<NAME> in the environment overrides the store.");
      return [o, set, ls, rm]() -> int {
        if (set->parsed()) return secret_set(*o);
        if (ls->parsed()) return secret_ls(*o);
        if (rm->parsed()) return secret_rm(*o);
        return 2;
      };
    }};

}  // namespace
}  // namespace mcpvm::cli
