#include "secrets/key_source.h"

#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "secrets/keyring.h"
#include "secrets/name.h"
#include "util/error.h"

namespace mcpvm::secrets {

const char* to_string(KeySource s) {
  switch (s) {
    case KeySource::env_passphrase:
      return kPassphraseVar;
    case KeySource::keyring:
      return "the kernel keyring";
    case KeySource::prompt:
      return "the passphrase typed";
  }
  return "?";
}

std::string read_hidden_line(const char* prompt) {
  if (!::isatty(0)) fail("stdin is not a terminal");
  termios old{};
  if (::tcgetattr(0, &old) != 0) fail_errno("reading the terminal's settings");
  termios quiet = old;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  quiet.c_lflag |= ECHONL;
  std::cerr << prompt << std::flush;
  ::tcsetattr(0, TCSAFLUSH, &quiet);
  std::string line;
  char c;
  ssize_t n;
  while ((n = ::read(0, &c, 1)) == 1 && c != '\n') line.push_back(c);
  ::tcsetattr(0, TCSAFLUSH, &old);
  c = 0;
  if (n < 0) {
    wipe(line);
    fail_errno("reading from the terminal");
  }
  return line;
}

namespace {

std::string prompt_passphrase(bool creating) {
  std::string first = read_hidden_line(creating ? "New passphrase for the mcpvm secret store: "
                                                : "Passphrase of the mcpvm secret store: ");
  if (first.empty()) fail("empty passphrase");
  if (creating) {
    std::string again = read_hidden_line("Repeat the passphrase: ");
    bool same = again == first;
    wipe(again);
    if (!same) {
      wipe(first);
      fail("the two passphrases differ; nothing was changed");
    }
  }
  return first;
}

}  // namespace

ObtainedKey obtain_key(const std::filesystem::path& store, const KdfParams& kdf, KeyRequest request) {
  if (const char* pass = std::getenv(kPassphraseVar); pass && *pass)
    return {derive_key(pass, kdf), KeySource::env_passphrase};
  if (!request.skip_keyring && !request.creating)
    if (auto cached = keyring_load(store, kdf)) return {std::move(*cached), KeySource::keyring};
  if (!::isatty(0))
    fail("the secret store is locked: set {} (there is no terminal to ask for the passphrase)",
         kPassphraseVar);
  std::string pass = prompt_passphrase(request.creating);
  ObtainedKey key{derive_key(pass, kdf), KeySource::prompt};
  wipe(pass);
  return key;
}

}  // namespace mcpvm::secrets
