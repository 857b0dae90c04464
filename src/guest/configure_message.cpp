#include "guest/configure_message.h"

#include <nlohmann/json.hpp>

#include "guest/protocol.h"

namespace mcpvm::guest {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) throw ProtocolError("configure: entropy is not whole bytes of hex");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) throw ProtocolError("configure: entropy is not hex");
    out.push_back(char(hi << 4 | lo));
  }
  return out;
}

}  // namespace

std::string encode_configure(const ConfigureMessage& message) {
  if (message.entropy.size() < kMinConfigureEntropy || message.entropy.size() > kMaxConfigureEntropy)
    throw ProtocolError("configure: entropy must be 32..512 bytes");
  std::string hex;
  hex.reserve(message.entropy.size() * 2);
  for (unsigned char c : message.entropy) {
    hex.push_back(kHexDigits[c >> 4]);
    hex.push_back(kHexDigits[c & 15]);
  }
  nlohmann::json j{{"version", kConfigureVersion},
                   {"config", message.config},
                   {"entropy", hex},
                   {"unix_time_ns", message.unix_time_ns}};
  return j.dump();
}

ConfigureMessage parse_configure(std::string_view payload) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ProtocolError("configure: not a JSON object");
  for (const char* key : {"version", "config", "entropy", "unix_time_ns"})
    if (!j.contains(key)) throw ProtocolError(std::string("configure: missing \"") + key + "\"");
  if (j.size() != 4) throw ProtocolError("configure: unknown keys");
  if (!j["version"].is_number_integer() || j["version"].get<int64_t>() != kConfigureVersion)
    throw ProtocolError("configure: unsupported version");
  if (!j["entropy"].is_string()) throw ProtocolError("configure: entropy is not a string");
  if (!j["unix_time_ns"].is_number_integer() || j["unix_time_ns"].get<int64_t>() <= 0)
    throw ProtocolError("configure: unix_time_ns is not a positive integer");
  if (!j["config"].is_object()) throw ProtocolError("configure: config is not an object");
  ConfigureMessage m;
  m.entropy = from_hex(j["entropy"].get<std::string>());
  if (m.entropy.size() < kMinConfigureEntropy || m.entropy.size() > kMaxConfigureEntropy)
    throw ProtocolError("configure: entropy must be 32..512 bytes");
  m.unix_time_ns = j["unix_time_ns"].get<int64_t>();
  try {
    m.config = j["config"].get<GuestConfig>();
  } catch (const nlohmann::json::exception& e) {
    throw ProtocolError(std::string("configure: bad config: ") + e.what());
  }
  if (m.config.template_wait) throw ProtocolError("configure: a VM's config cannot ask to wait again");
  return m;
}

}  // namespace mcpvm::guest
