#include "oci/reference.h"

#include <algorithm>
#include <cctype>

#include "util/error.h"

namespace mcpvm::oci {

namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr size_t kMaxNameLength = 255;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool is_hex_lower(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [_.] | __ | [-]+
bool is_path_component(std::string_view c) {
  if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (is_lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !is_lower_alnum(c[j])) ++j;
    std::string_view sep = c.substr(i, j - i);
    bool dashes = std::all_of(sep.begin(), sep.end(), [](char ch) { return ch == '-'; });
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool is_domain_component(std::string_view c) {
  if (c.empty() || !is_alnum(c.front()) || !is_alnum(c.back())) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return is_alnum(ch) || ch == '-'; });
}

bool is_port(std::string_view p) {
  return !p.empty() && p.size() <= 5 &&
         std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// host[:port], host := domain-name | IPv4 | [IPv6]
bool is_domain(std::string_view d) {
  std::string_view host = d;
  if (!d.empty() && d.front() == '[') {
    size_t close = d.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    std::string_view v6 = d.substr(1, close - 1);
    if (!std::all_of(v6.begin(), v6.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        }))
      return false;
    std::string_view rest = d.substr(close + 1);
    return rest.empty() || (rest.front() == ':' && is_port(rest.substr(1)));
  }
  if (size_t colon = d.rfind(':'); colon != std::string_view::npos) {
    if (!is_port(d.substr(colon + 1))) return false;
    host = d.substr(0, colon);
  }
  if (host.empty()) return false;
  for (size_t start = 0;;) {
    size_t dot = host.find('.', start);
    if (!is_domain_component(host.substr(start, dot == std::string_view::npos ? dot : dot - start)))
      return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  auto word = [](char c) { return is_alnum(c) || c == '_'; };
  if (!word(t.front())) return false;
  return std::all_of(t.begin(), t.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

}  // namespace

bool is_valid_digest(std::string_view digest) {
  constexpr std::string_view prefix = "sha256:";
  if (digest.size() != prefix.size() + 64 || digest.substr(0, prefix.size()) != prefix) return false;
  std::string_view hex = digest.substr(prefix.size());
  return std::all_of(hex.begin(), hex.end(), is_hex_lower);
}

Reference Reference::parse(std::string_view text) {
  auto invalid = [&](std::string_view why) -> Error {
    return Error(fmt::format("invalid reference \"{}\": {}", text, why));
  };
  if (text.empty()) throw invalid("it is empty");
  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (ref.digest.rfind("sha256:", 0) != 0) throw invalid("only sha256 digests are supported");
    if (!is_valid_digest(ref.digest))
      throw invalid("the digest must be sha256: and 64 lower-case hex digits");
  }
  size_t slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  bool has_domain = slash != std::string_view::npos &&
                    (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
                     std::any_of(first.begin(), first.end(),
                                 [](char c) { return std::isupper(static_cast<unsigned char>(c)); }));
  std::string_view remainder = rest;
  if (has_domain) {
    ref.domain = std::string(first);
    remainder = rest.substr(slash + 1);
  } else {
    ref.domain = std::string(kDefaultDomain);
  }
  if (size_t colon = remainder.rfind(':'); colon != std::string_view::npos) {
    ref.tag = std::string(remainder.substr(colon + 1));
    remainder = remainder.substr(0, colon);
    if (!is_tag(ref.tag)) throw invalid("the tag must be 1-128 of [A-Za-z0-9_.-], not starting with . or -");
  }
  if (remainder.empty()) throw invalid("the repository name is empty");
  if (!is_domain(ref.domain)) throw invalid(fmt::format("\"{}\" is not a valid registry host", ref.domain));
  if (ref.domain == kLegacyDefaultDomain) ref.domain = std::string(kDefaultDomain);
  if (std::any_of(remainder.begin(), remainder.end(),
                  [](char c) { return std::isupper(static_cast<unsigned char>(c)); }))
    throw invalid("the repository name must be lowercase");
  if (remainder.size() == 64 && std::all_of(remainder.begin(), remainder.end(), is_hex_lower) && !has_domain)
    throw invalid("a 64-digit hex string is an image ID, not a repository name: use sha256:<hex>");
  for (size_t start = 0;;) {
    size_t next = remainder.find('/', start);
    std::string_view component =
        remainder.substr(start, next == std::string_view::npos ? next : next - start);
    if (!is_path_component(component))
      throw invalid(fmt::format("\"{}\" is not a valid repository path component", component));
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  ref.repository = std::string(remainder);
  if (ref.domain == kDefaultDomain && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.name().size() > kMaxNameLength) throw invalid("the name is longer than 255 characters");
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string Reference::str() const {
  std::string s = name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest;
  return s;
}

std::string Reference::store_key() const {
  return tag.empty() ? name() + "@" + digest : name() + ":" + tag;
}

std::string Reference::api_host() const {
  return domain == kDefaultDomain ? "registry-1.docker.io" : domain;
}

}  // namespace mcpvm::oci
