#include "mcp/protocol.h"

#include <arpa/inet.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "util/crypto.h"
#include "util/error.h"

namespace mcpvm::mcp {

const std::vector<std::string>& supported_protocol_versions() {
  static const std::vector<std::string> versions = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  return versions;
}

bool is_supported_protocol_version(std::string_view v) {
  const auto& all = supported_protocol_versions();
  return std::find(all.begin(), all.end(), v) != all.end();
}

bool batches_allowed(std::string_view v) {
  return v == "2025-03-26" || v == "2024-11-05";
}

std::optional<std::string> check_protocol_version_header(std::optional<std::string_view> header) {
  if (!header) return std::nullopt;  // absent: the server assumes the negotiated (or default) revision
  if (!is_supported_protocol_version(*header))
    return fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}' (supported: {})", *header,
                       fmt::join(supported_protocol_versions(), ", "));
  return std::nullopt;
}

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The host part of an origin "scheme://host[:port]" (IPv6 literals in brackets).
std::optional<std::string> origin_host(std::string_view origin) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  std::string scheme = lower(origin.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  std::string_view rest = origin.substr(scheme_end + 3);
  if (rest.find_first_of("/?#@") != std::string_view::npos) return std::nullopt;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    return lower(rest.substr(0, close + 1));
  }
  return lower(rest.substr(0, rest.find(':')));
}

}  // namespace

bool origin_allowed(std::optional<std::string_view> origin, const std::vector<std::string>& extra_allowed) {
  if (!origin) return true;
  for (const auto& allowed : extra_allowed)
    if (lower(allowed) == lower(*origin)) return true;
  auto host = origin_host(*origin);
  return host && (*host == "localhost" || *host == "127.0.0.1" || *host == "[::1]");
}

namespace {

bool is_dns_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

std::optional<uint16_t> parse_port(std::string_view digits) {
  if (digits.empty() || digits.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return static_cast<uint16_t>(value);
}

std::string_view strip_brackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
  return host;
}

}  // namespace

std::optional<HostHeader> parse_host_header(std::string_view value) {
  std::string_view host = value, port;
  bool has_port = false;
  if (!value.empty() && value.front() == '[') {  // [IPv6]:port
    auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = value.substr(1, close - 1);
    std::string_view rest = value.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return std::nullopt;
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
    in6_addr ignored;
    if (::inet_pton(AF_INET6, std::string(host).c_str(), &ignored) != 1) return std::nullopt;
  } else {
    auto colon = value.find(':');
    if (colon != std::string_view::npos) {
      host = value.substr(0, colon);
      port = value.substr(colon + 1);
      has_port = true;
    }
    if (!is_dns_name(host)) return std::nullopt;
  }
  HostHeader out{lower(host), std::nullopt};
  if (has_port && !(out.port = parse_port(port))) return std::nullopt;
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "localhost.") return true;
  const std::string text(host);
  in_addr v4;
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  return ::inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

bool host_allowed(std::optional<std::string_view> header, const std::vector<std::string>& extra_hosts) {
  if (!header) return false;
  auto parsed = parse_host_header(*header);
  if (!parsed) return false;
  if (is_loopback_host(parsed->host)) return true;
  return std::any_of(extra_hosts.begin(), extra_hosts.end(),
                     [&](const std::string& extra) { return lower(strip_brackets(extra)) == parsed->host; });
}

AcceptPrefs parse_accept(std::string_view header) {
  AcceptPrefs p;
  while (!header.empty()) {
    auto comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    std::string type = lower(trim(item.substr(0, item.find(';'))));
    if (type == "*/*") p.json = p.sse = true;
    if (type == "application/json" || type == "application/*") p.json = true;
    if (type == "text/event-stream" || type == "text/*") p.sse = true;
  }
  return p;
}

std::string format_sse_event(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + event.size() + 32);
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  // Compact JSON has no raw newlines, but stay correct for any payload.
  size_t start = 0;
  do {
    size_t nl = data.find('\n', start);
    std::string_view line =
        data.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out.append("data: ").append(line).append("\n");
    start = nl == std::string_view::npos ? data.size() + 1 : nl + 1;
  } while (start <= data.size());
  out.append("\n");
  return out;
}

std::vector<SseParser::Event> SseParser::feed(std::string_view bytes) {
  std::vector<Event> out;
  if (failed_) return out;
  for (char c : bytes) {
    if (c == '\n' && last_was_cr_) {  // the \n of a \r\n pair: the line already ended at \r
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (c == '\n' || c == '\r') {
      line(partial_, out);
      partial_.clear();
      if (failed_) return out;
      continue;
    }
    if (partial_.size() >= max_line_) {
      failed_ = true;
      return out;
    }
    partial_.push_back(c);
  }
  return out;
}

void SseParser::line(std::string_view l, std::vector<Event>& out) {
  if (l.empty()) {  // blank line: dispatch
    if (has_data_) {
      if (current_.event.empty()) current_.event = "message";
      out.push_back(std::move(current_));
    }
    current_ = Event{};
    has_data_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment (keep-alive)
  auto colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (current_.data.size() + value.size() + 1 > max_line_) {
      failed_ = true;
      return;
    }
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) current_.id = std::string(value);
  }
}

std::string new_session_id() {
  return random_hex(16);
}

}  // namespace mcpvm::mcp
