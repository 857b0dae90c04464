// The Configure control message (guest/configure_message.h) a restored template's init parses: strict,
// bounded, and refusing anything but one well-formed config with fresh entropy and a clock.
#include <gtest/gtest.h>

#include "guest/configure_message.h"
#include "guest/protocol.h"

namespace mcpvm::guest {
namespace {

ConfigureMessage sample() {
  ConfigureMessage m;
  m.config.argv = {"/usr/local/bin/server", "--flag"};
  m.config.hostname = "vm-one";
  m.config.modules = {"virtio_blk.ko"};
  m.config.secret_count = 2;
  m.entropy = std::string(64, '\0');
  for (size_t i = 0; i < m.entropy.size(); ++i) m.entropy[i] = char(i * 37 + 11);
  m.unix_time_ns = 1764700000123456789;
  return m;
}

TEST(ConfigureMessage, RoundTrip) {
  ConfigureMessage m = sample();
  ConfigureMessage back = parse_configure(encode_configure(m));
  EXPECT_EQ(back.entropy, m.entropy);
  EXPECT_EQ(back.unix_time_ns, m.unix_time_ns);
  EXPECT_EQ(back.config.argv, m.config.argv);
  EXPECT_EQ(back.config.hostname, "vm-one");
  EXPECT_EQ(back.config.modules, m.config.modules);
  EXPECT_EQ(back.config.secret_count, 2u);
  EXPECT_FALSE(back.config.template_wait);
}

TEST(ConfigureMessage, EncodeRefusesTooLittleEntropy) {
  ConfigureMessage m = sample();
  m.entropy.resize(kMinConfigureEntropy - 1);
  EXPECT_THROW(encode_configure(m), ProtocolError);
  m.entropy.assign(kMaxConfigureEntropy + 1, 'x');
  EXPECT_THROW(encode_configure(m), ProtocolError);
}

TEST(ConfigureMessage, HostilePayloadsAreRefused) {
  const std::string hex64(128, 'a');
  const std::string ok_config = R"({"argv":["/bin/x"]})";
  auto msg = [&](const std::string& version, const std::string& config, const std::string& entropy,
                 const std::string& time) {
    return R"({"version":)" + version + R"(,"config":)" + config + R"(,"entropy":)" + entropy +
           R"(,"unix_time_ns":)" + time + "}";
  };
  const std::vector<std::string> bad = {
      "",
      "not json",
      "[]",
      "{}",
      msg("2", ok_config, "\"" + hex64 + "\"", "1"),                    // unknown version
      msg("\"1\"", ok_config, "\"" + hex64 + "\"", "1"),                // version not a number
      msg("1", ok_config, "\"" + std::string(62, 'a') + "\"", "1"),     // 31 bytes
      msg("1", ok_config, "\"" + std::string(1026, 'a') + "\"", "1"),   // 513 bytes
      msg("1", ok_config, "\"" + std::string(127, 'a') + "\"", "1"),    // odd number of digits
      msg("1", ok_config, "\"" + std::string(126, 'a') + "zz\"", "1"),  // not hex
      msg("1", ok_config, "123", "1"),                                  // entropy not a string
      msg("1", ok_config, "\"" + hex64 + "\"", "0"),                    // no clock
      msg("1", ok_config, "\"" + hex64 + "\"", "-5"),
      msg("1", ok_config, "\"" + hex64 + "\"", "1.5"),
      msg("1", ok_config, "\"" + hex64 + "\"", "\"now\""),
      msg("1", "[]", "\"" + hex64 + "\"", "1"),                         // config not an object
      msg("1", R"({"argv":"x"})", "\"" + hex64 + "\"", "1"),            // config of the wrong shape
      msg("1", R"({"template_wait":true})", "\"" + hex64 + "\"", "1"),  // would wait forever
      R"({"version":1,"config":{},"entropy":")" + hex64 + R"("})",      // missing key
      R"({"version":1,"config":{},"entropy":")" + hex64 + R"(","unix_time_ns":1,"x":0})",  // extra key
      R"({"version":1,"config":{},"entropy":")" + hex64,                                   // truncated
  };
  for (const auto& payload : bad) EXPECT_THROW(parse_configure(payload), ProtocolError) << payload;
}

TEST(ConfigureMessage, AcceptsUpperCaseHexAndTheBounds) {
  std::string payload =
      R"({"version":1,"config":{},"entropy":")" + std::string(64, 'F') + R"(","unix_time_ns":1})";
  EXPECT_EQ(parse_configure(payload).entropy, std::string(32, '\xff'));
  payload = R"({"version":1,"config":{},"entropy":")" + std::string(1024, '0') + R"(","unix_time_ns":1})";
  EXPECT_EQ(parse_configure(payload).entropy.size(), kMaxConfigureEntropy);
}

}  // namespace
}  // namespace mcpvm::guest
