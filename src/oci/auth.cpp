#include "oci/auth.h"

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::oci {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

bool is_tchar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A tiny cursor over the header value.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  void skip_ws() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  void skip_ws_and_commas() {
    while (!done() && (s[i] == ' ' || s[i] == '\t' || s[i] == ',')) ++i;
  }
  std::string_view token() {
    size_t start = i;
    while (!done() && is_tchar(s[i])) ++i;
    return s.substr(start, i - start);
  }
  std::string quoted() {  // at the opening quote
    ++i;
    std::string out;
    while (!done() && s[i] != '"') {
      if (s[i] == '\\') {
        if (++i >= s.size()) break;
      }
      out += s[i++];
    }
    if (done()) fail("malformed WWW-Authenticate header: unterminated quoted string");
    ++i;
    return out;
  }
};

}  // namespace

void check_token_realm(std::string_view realm, bool registry_is_https) {
  std::string scheme = lower(realm.substr(0, realm.find("://")));
  if (realm.find("://") == std::string_view::npos || (scheme != "https" && scheme != "http"))
    fail("the registry's token server {} is not an http(s) URL", realm);
  if (scheme == "http" && registry_is_https)
    fail(
        "the registry's token server {} is plain http: refusing to send credentials in the clear (only a "
        "plain-http registry, --tls-verify=false, may use one)",
        realm);
}

std::vector<Challenge> parse_challenges(std::string_view header) {
  std::vector<Challenge> out;
  Cursor c{header};
  c.skip_ws_and_commas();
  while (!c.done()) {
    std::string_view scheme = c.token();
    if (scheme.empty()) fail("malformed WWW-Authenticate header: expected an auth scheme");
    out.push_back(Challenge{lower(scheme), {}});
    c.skip_ws();
    // Parameters: name=value pairs separated by commas, until a token not followed by '=' (next scheme).
    while (!c.done()) {
      c.skip_ws_and_commas();
      size_t save = c.i;
      std::string_view name = c.token();
      c.skip_ws();
      if (name.empty() || c.done() || c.s[c.i] != '=') {
        if (name.empty() && !c.done()) fail("malformed WWW-Authenticate header: unexpected '{}'", c.s[c.i]);
        c.i = save;  // a new challenge (or token68 we do not use) starts here
        break;
      }
      ++c.i;
      c.skip_ws();
      std::string value;
      if (!c.done() && c.s[c.i] == '"') {
        value = c.quoted();
      } else {
        value = std::string(c.token());
        while (!c.done() && c.s[c.i] == '=') value += c.s[c.i++];  // token68 padding
      }
      out.back().params[lower(name)] = std::move(value);
    }
    c.skip_ws_and_commas();
    if (!c.done() && c.i < c.s.size() && !is_tchar(c.s[c.i]))
      fail("malformed WWW-Authenticate header: unexpected '{}'", c.s[c.i]);
  }
  if (out.empty()) fail("malformed WWW-Authenticate header: it is empty");
  return out;
}

Credentials parse_creds(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) fail("credentials must be given as USER:PASSWORD");
  return Credentials{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), int(data.size()));
  out.resize(size_t(n));
  return out;
}

std::string base64_decode(std::string_view data) {
  std::string in;
  for (char c : data)
    if (!std::isspace(static_cast<unsigned char>(c))) in += c;
  if (in.size() % 4 != 0) fail("invalid base64: length is not a multiple of 4");
  if (in.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      std::string::npos)
    fail("invalid base64: unexpected character");
  size_t pad = in.find('=');
  if (pad != std::string::npos &&
      (in.size() - pad > 2 || in.find_first_not_of('=', pad) != std::string::npos))
    fail("invalid base64: misplaced padding");
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  if (n < 0) fail("invalid base64");
  out.resize(size_t(n) - (pad == std::string::npos ? 0 : in.size() - pad));
  return out;
}

std::optional<Credentials> credentials_from_docker_config(std::string_view config_json,
                                                          std::string_view host) {
  auto doc = nlohmann::json::parse(config_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) fail("the docker config is not valid JSON");
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return std::nullopt;
  std::string h(host);
  std::vector<std::string> keys = {h,
                                   "https://" + h,
                                   "http://" + h,
                                   "https://" + h + "/v2/",
                                   "https://" + h + "/v1/",
                                   "http://" + h + "/v2/"};
  if (h == "docker.io" || h == "registry-1.docker.io") {
    keys.push_back("https://index.docker.io/v1/");
    keys.push_back("index.docker.io");
  }
  for (const std::string& key : keys) {
    auto entry = auths->find(key);
    if (entry == auths->end() || !entry->is_object()) continue;
    if (auto auth = entry->find("auth"); auth != entry->end() && auth->is_string()) {
      return with_context(fmt::format("the docker config's auth for {}", key),
                          [&] { return parse_creds(base64_decode(auth->get<std::string>())); });
    }
    if (entry->contains("username") && entry->contains("password") && (*entry)["username"].is_string() &&
        (*entry)["password"].is_string())
      return Credentials{(*entry)["username"], (*entry)["password"]};
  }
  return std::nullopt;
}

std::optional<Credentials> find_docker_credentials(std::string_view host) {
  fs::path file;
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    file = fs::path(dir) / "config.json";
  else if (const char* home = std::getenv("HOME"); home && *home)
    file = fs::path(home) / ".docker" / "config.json";
  else
    return std::nullopt;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  return with_context(file.string(),
                      [&] { return credentials_from_docker_config(read_file(file, 1 << 20), host); });
}

}  // namespace mcpvm::oci
