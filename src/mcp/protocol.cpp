#include "mcp/protocol.h"

#include <sys/random.h>

#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>

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

std::optional<std::string> check_protocol_version_header(std::optional<std::string_view> header,
                                                         std::string_view negotiated) {
  if (!header) return std::nullopt;  // absent: the server assumes the negotiated (or default) revision
  if (!is_supported_protocol_version(*header))
    return fmt::format("Bad Request: unsupported MCP-Protocol-Version '{}' (supported: {})", *header,
                       fmt::join(supported_protocol_versions(), ", "));
  if (*header != negotiated)
    return fmt::format("Bad Request: MCP-Protocol-Version '{}' does not match the session's '{}'", *header,
                       negotiated);
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
  std::array<unsigned char, 16> bytes{};
  if (getrandom(bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    fail_errno("reading random bytes for a session id");
  std::string out;
  for (unsigned char b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace mcpvm::mcp
