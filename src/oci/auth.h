// Registry authentication: parsing WWW-Authenticate challenges and finding credentials
// (--creds user:pass, else $DOCKER_CONFIG/config.json or ~/.docker/config.json "auths").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpvm::oci {

struct Challenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased: realm, service, scope, error
};

// Parses one WWW-Authenticate header value (RFC 7235: possibly several challenges, quoted strings with
// backslash escapes). Throws Error on malformed input.
std::vector<Challenge> parse_challenges(std::string_view header);

// Refuses a bearer challenge's token server (its realm) that would receive the user's credentials, and
// hand out the token, in the clear: an https registry may only send us to an https token server; plain
// http is accepted only from a plain-http registry (--tls-verify=false, e.g. a loopback test registry).
// Throws Error("the registry's token server http://... is plain http: refusing ...").
void check_token_realm(std::string_view realm, bool registry_is_https);

struct Credentials {
  std::string username, password;
};

// "user:pass" -> Credentials. Throws Error when there is no colon.
Credentials parse_creds(std::string_view user_colon_pass);

// Credentials for a registry host from a docker config.json document. The keys may be "host",
// "https://host", "http://host/v2/", and for docker.io "https://index.docker.io/v1/". Throws on a malformed
// "auth" value.
std::optional<Credentials> credentials_from_docker_config(std::string_view config_json,
                                                          std::string_view host);

// Looks in $DOCKER_CONFIG/config.json, else ~/.docker/config.json (missing file = no credentials).
std::optional<Credentials> find_docker_credentials(std::string_view host);

std::string base64_encode(std::string_view data);
// Throws Error on invalid base64.
std::string base64_decode(std::string_view data);

}  // namespace mcpvm::oci
