#include "mcp/endpoint_url.h"

#include <fmt/format.h>

#include "util/error.h"
#include "util/port.h"

namespace mcpvm::mcp {

std::string EndpointUrl::streamable_http() const {
  return fmt::format("http://{}:{}/mcp", host, port);
}

std::string EndpointUrl::sse() const {
  return fmt::format("http://{}:{}/sse", host, port);
}

std::optional<EndpointUrl> parse_endpoint_url(std::string_view url) {
  constexpr std::string_view scheme = "http://";
  if (!url.starts_with(scheme) || !(url.ends_with("/mcp") || url.ends_with("/sse"))) return std::nullopt;
  std::string_view authority = url.substr(scheme.size(), url.size() - scheme.size() - 4);
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  uint16_t port = 0;
  try {
    port = parse_port(authority.substr(colon + 1));
  } catch (const Error&) {
    return std::nullopt;
  }
  return EndpointUrl{std::string(authority.substr(0, colon)), port};
}

}  // namespace mcpvm::mcp
