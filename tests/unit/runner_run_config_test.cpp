// RunConfig (runner/run_config.h): every field `run` chose survives config.json, the file is read
// strictly, and the configs earlier mcpvm versions wrote (tests/fixtures/run_config/v1-*.json, written by
// the 0.1 binary) are migrated to the same typed config.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "runner/run_config.h"
#include "util/error.h"

namespace mcpvm::runner {
namespace {

using nlohmann::json;

RunConfig sample() {
  RunConfig c;
  c.name = "fetch";
  c.image = "127.0.0.1:5000/mcp/fetch:1";
  c.machine.kernel = {"/k/vmlinux", "/k/lib/modules/6.1", "6.1.0-57-amd64"};
  c.machine.rootfs = "/r/image.sqfs";
  c.machine.cpus = 2;
  c.machine.memory_mib = 384;
  c.machine.accel = vm::Accel::kvm;
  c.machine.tcg_tb_mib = 48;
  c.machine.extra_cmdline = "initcall_debug";
  c.process.argv = {"/srv", "--flag"};
  c.process.workdir = "/app";
  c.process.user = "1000:1000";
  c.process.image_env = {"PATH=/bin"};
  c.process.transport_env = {"MCP_TRANSPORT=streamable-http", "MCP_PORT=9000"};
  c.process.runtime_env = {"TOKEN=x"};
  c.network = net::build_network_request(
      {.publish = {"8080:80"}, .allow_host = {"api.github.com"}, .allow_port = {"443"}});
  c.mcp = {Transport::streamable_http, 9000, 41234};
  c.mcp.auth = EndpointAuth::none;
  c.restart = RestartPolicy::parse("on-failure:3");
  c.timeouts.boot = std::chrono::milliseconds(4500);
  c.timeouts.ready = std::chrono::seconds(90);
  c.timeouts.stop = std::chrono::milliseconds(2500);
  c.remove_on_exit = true;
  c.volumes = {{"/home/me/notes", "/data", true}, {"/home/me/out", "/out", false}};
  return c;
}

RunConfig reload(const RunConfig& c) {
  return parse_run_config(json::parse(to_json(c).dump()));
}

// The runner rebuilds the VM from config.json on every start (also after a host reboot): every field the
// CLI chose must survive the trip.
TEST(RunConfig, RoundTripKeepsWhatTheCliChose) {
  RunConfig c = sample();
  RunConfig back = reload(c);
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.schema_version, kRunConfigSchema);
  vm::VmSpec spec = vm_spec(back);
  EXPECT_EQ(spec.kernel.kernel, "/k/vmlinux");
  EXPECT_EQ(spec.kernel.modules_dir, "/k/lib/modules/6.1");
  EXPECT_EQ(spec.rootfs, "/r/image.sqfs");
  EXPECT_EQ(spec.cpus, 2u);
  EXPECT_EQ(spec.memory_mib, 384u);
  EXPECT_EQ(spec.accel, vm::Accel::kvm);
  EXPECT_EQ(spec.tcg_tb_mib, 48u);
  EXPECT_EQ(spec.extra_cmdline, "initcall_debug");
  EXPECT_EQ(spec.guest.argv, c.process.argv);
  EXPECT_EQ(spec.boot_timeout, std::chrono::milliseconds(4500));
  // Layers lowest first: image, transport, runtime (the user's -e wins over what the runtime sets).
  ASSERT_EQ(spec.guest.env_layers.size(), 3u);
  EXPECT_EQ(spec.guest.env_layers[2], std::vector<std::string>{"TOKEN=x"});
  EXPECT_EQ(back.network.forwards.at(0).guest_port, 80);
  EXPECT_TRUE(back.network.egress.host_allowed("api.github.com"));
  EXPECT_FALSE(back.network.egress.port_allowed(80));
  ASSERT_EQ(spec.volumes.size(), 2u);
  EXPECT_EQ(spec.volumes[0].host, "/home/me/notes");
  EXPECT_EQ(spec.volumes[0].guest, "/data");
  EXPECT_TRUE(spec.volumes[0].read_only);
  EXPECT_FALSE(spec.volumes[1].read_only);
}

TEST(RunConfig, FieldsAddedLaterTakeTheirDefaults) {
  json j = to_json(sample());
  j["machine"].erase("tcg_tb_mib");
  j["timeouts"].erase("stop_ms");
  j["mcp"].erase("endpoint_auth");
  j.erase("volumes");  // configs from before volumes
  RunConfig c = parse_run_config(j);
  EXPECT_EQ(c.mcp.auth, EndpointAuth::bearer);  // a VM made before endpoint auth gets a token
  EXPECT_TRUE(c.volumes.empty());
  EXPECT_EQ(c.machine.tcg_tb_mib, MachineConfig{}.tcg_tb_mib);
  EXPECT_EQ(c.timeouts.stop, Timeouts{}.stop);
}

std::string error_of(const std::function<void(json&)>& mangle) {
  json j = to_json(sample());
  mangle(j);
  try {
    parse_run_config(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "accepted";
}

TEST(RunConfig, StrictParsingNamesTheKey) {
  EXPECT_EQ(error_of([](json&) {}), "accepted");
  EXPECT_EQ(error_of([](json& j) { j["surprise"] = true; }), "surprise: unknown key");
  EXPECT_EQ(error_of([](json& j) { j["machine"]["gpu"] = 1; }), "machine.gpu: unknown key");
  EXPECT_EQ(error_of([](json& j) { j["machine"]["cpus"] = "2"; }),
            "machine.cpus: expected an integer in range");
  EXPECT_EQ(error_of([](json& j) { j["machine"]["accel"] = "hvf"; }),
            "machine.accel: unknown accelerator \"hvf\" (kvm or tcg)");
  EXPECT_EQ(error_of([](json& j) { j["process"]["argv"] = "/srv"; }),
            "process.argv: expected an array of strings");
  EXPECT_EQ(error_of([](json& j) { j["process"]["argv"] = json::array(); }),
            "process.argv: the command is empty");
  EXPECT_EQ(error_of([](json& j) { j["process"]["env"]["secrets"] = json::array(); }),
            "process.env.secrets: unknown key");
  EXPECT_EQ(
      error_of([](json& j) { j["mcp"]["transport"] = "websocket"; }).find("mcp.transport: unknown transport"),
      0u);
  EXPECT_EQ(error_of([](json& j) { j["mcp"]["target_port"] = 0; }).find("mcp.target_port:"), 0u);
  EXPECT_EQ(error_of([](json& j) { j["mcp"]["endpoint_auth"] = "basic"; }),
            "mcp.endpoint_auth: unknown endpoint authentication \"basic\" (expected bearer or none)");
  EXPECT_EQ(error_of([](json& j) { j["network"]["egress"]["mode"] = 3; }),
            "network.egress.mode: expected a string");
  EXPECT_EQ(error_of([](json& j) { j["restart"] = "sometimes"; }).find("restart: invalid restart policy"),
            0u);
  EXPECT_EQ(error_of([](json& j) { j["timeouts"]["ready_s"] = -1; }),
            "timeouts.ready_s: expected an integer in range");
  EXPECT_EQ(error_of([](json& j) { j.erase("image"); }), "image: missing");
  EXPECT_EQ(error_of([](json& j) {
              j["schema_version"] = 3;
            }).find("schema_version 3 was written by a newer mcpvm"),
            0u);
  EXPECT_EQ(error_of([](json& j) { j["schema_version"] = "2"; }), "schema_version: expected an integer");
  EXPECT_EQ(error_of([](json& j) { j["volumes"][0]["mode"] = "ro"; }), "volumes[0].mode: unknown key");
  EXPECT_EQ(error_of([](json& j) { j["volumes"][0].erase("read_only"); }), "volumes[0].read_only: missing");
  EXPECT_EQ(error_of([](json& j) { j["volumes"][1]["host"] = "out"; }), "volumes[1].host: must be absolute");
  EXPECT_EQ(error_of([](json& j) {
              j["volumes"][1]["guest"] = "/proc";
            }).find("volumes[1].guest: guest path /proc"),
            0u);
  EXPECT_EQ(error_of([](json& j) { j["volumes"] = json::object(); }), "volumes: expected an array");
}

TEST(RunConfig, HttpTransportNeedsTheNetwork) {
  EXPECT_EQ(error_of([](json& j) {
              j["network"] = net::to_json(net::build_network_request({.network = "none"}));
            }).find("mcp.transport streamable-http: an HTTP server is reached through the VM's network"),
            0u);
}

// --- migration from the unversioned format (mcpvm 0.1) ---

json fixture(const std::string& name) {
  std::ifstream in(std::string(MCPVM_FIXTURES) + "/run_config/" + name);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

TEST(RunConfigMigration, StdioDefaultsFromVersion01) {
  json old = fixture("v1-stdio.json");
  ASSERT_FALSE(old.contains("schema_version"));
  RunConfig c = parse_run_config(old);
  EXPECT_EQ(c.schema_version, 1);
  EXPECT_EQ(c.name, old["name"]);
  EXPECT_EQ(c.image, old["image"]);
  EXPECT_EQ(c.process.argv, old["vm"]["spec"]["guest"]["argv"].get<std::vector<std::string>>());
  EXPECT_EQ(c.machine.rootfs, old["vm"]["spec"]["rootfs"].get<std::string>());
  EXPECT_EQ(c.machine.kernel.kernel, old["vm"]["spec"]["kernel"]["kernel"].get<std::string>());
  EXPECT_EQ(c.mcp.transport, Transport::stdio);
  EXPECT_TRUE(c.network.enabled);
  EXPECT_EQ(c.network.egress.mode, net::EgressMode::allow_all);
  EXPECT_FALSE(c.network.egress.allow_host_loopback);
  EXPECT_EQ(c.timeouts.stop, std::chrono::milliseconds(10000));
  auto layers = old["vm"]["spec"]["guest"]["env_layers"];
  EXPECT_EQ(c.process.image_env, layers[0].get<std::vector<std::string>>());
  EXPECT_EQ(c.process.transport_env, layers[1].get<std::vector<std::string>>());
  EXPECT_EQ(c.process.runtime_env, layers[2].get<std::vector<std::string>>());
  // Saved again, it is the current schema and reads back the same.
  EXPECT_EQ(to_json(reload(c)), to_json(c));
}

TEST(RunConfigMigration, HttpTransportAndNetworkFlagsFromVersion01) {
  json old = fixture("v1-http-allowlist.json");
  RunConfig c = parse_run_config(old);
  EXPECT_EQ(c.mcp.transport, Transport::streamable_http);
  EXPECT_EQ(c.mcp.target_port, old["vm"]["target_port"].get<uint16_t>());
  EXPECT_EQ(c.mcp.proxy_port, old["vm"]["proxy_port"].get<uint16_t>());
  EXPECT_EQ(c.mcp.auth, EndpointAuth::bearer);
  EXPECT_EQ(c.restart.to_string(), old["restart"].get<std::string>());
  EXPECT_EQ(c.timeouts.stop,
            std::chrono::milliseconds(int64_t(old["vm"]["stop_timeout_s"].get<double>() * 1000)));
  EXPECT_EQ(c.network.egress.mode, net::EgressMode::allowlist);
  EXPECT_TRUE(c.network.egress.host_allowed("api.example.com"));
  EXPECT_TRUE(c.network.egress.port_allowed(443));
  EXPECT_FALSE(c.network.egress.port_allowed(80));
  ASSERT_EQ(c.network.forwards.size(), 1u);
  EXPECT_EQ(c.network.forwards[0].host_port, 18080);
  ASSERT_EQ(c.network.hosts.size(), 1u);
  EXPECT_EQ(c.network.hosts[0].name, "db.test");
  EXPECT_EQ(to_json(reload(c)), to_json(c));
}

TEST(RunConfigMigration, NetworkNoneFromVersion01) {
  RunConfig c = parse_run_config(fixture("v1-network-none.json"));
  EXPECT_FALSE(c.network.enabled);
}

TEST(RunConfigMigration, TwoLayerEnvOfTheFirstDetachedRuns) {
  // Before --transport existed the env had two layers: the image's and the user's.
  json old = fixture("v1-stdio.json");
  auto& layers = old["vm"]["spec"]["guest"]["env_layers"];
  layers = json::array({json::array({"PATH=/bin"}), json::array({"TOKEN=x"})});
  old["vm"].erase("network_flags");
  old["vm"].erase("stop_timeout_s");
  RunConfig c = parse_run_config(old);
  EXPECT_EQ(c.process.image_env, std::vector<std::string>{"PATH=/bin"});
  EXPECT_TRUE(c.process.transport_env.empty());
  EXPECT_EQ(c.process.runtime_env, std::vector<std::string>{"TOKEN=x"});
  EXPECT_FALSE(c.network.enabled) << "runs from before the user network had no NIC";
}

TEST(RunConfigMigration, WhatCannotBeBootedIsRefused) {
  json old = fixture("v1-stdio.json");
  old["vm"]["spec"]["guest"]["argv"] = json::array();
  EXPECT_THROW(parse_run_config(old), Error);
  old = fixture("v1-stdio.json");
  old["vm"].erase("spec");
  EXPECT_THROW(parse_run_config(old), Error);
  EXPECT_THROW(parse_run_config(json::array()), Error);
}

// --- secrets: references only ---

TEST(RunConfigSecrets, ReferencesRoundTripAndNoValueIsWritten) {
  RunConfig c = sample();
  c.secrets = {{"github", "GITHUB_TOKEN"}, {"slack.bot-1", "SLACK_TOKEN"}};
  json j = to_json(c);
  ASSERT_TRUE(j.contains("secrets"));
  EXPECT_EQ(j["secrets"], json::parse(R"([{"name":"github","target":"GITHUB_TOKEN"},
                                          {"name":"slack.bot-1","target":"SLACK_TOKEN"}])"));
  RunConfig back = parse_run_config(json::parse(j.dump()));
  EXPECT_EQ(back.secrets, c.secrets);
  EXPECT_EQ(vm_spec(back).guest.secret_count, 2u);
}

TEST(RunConfigSecrets, OlderConfigsHaveNone) {
  json j = to_json(sample());
  j.erase("secrets");
  EXPECT_TRUE(parse_run_config(j).secrets.empty());
  EXPECT_TRUE(parse_run_config(fixture("v1-stdio.json")).secrets.empty());
  EXPECT_EQ(vm_spec(parse_run_config(j)).guest.secret_count, 0u);
}

TEST(RunConfigSecrets, BadReferencesAreRefusedNamingTheEntry) {
  auto with = [](json refs) { return error_of([&](json& j) { j["secrets"] = refs; }); };
  EXPECT_NE(with(json::parse(R"([{"name":"a b","target":"X"}])")).find("secrets[0]"), std::string::npos);
  EXPECT_NE(with(json::parse(R"([{"name":"a","target":"1X"}])")).find("secrets[0]"), std::string::npos);
  EXPECT_NE(
      with(json::parse(R"([{"name":"a","target":"X","value":"v"}])")).find("secrets[0].value: unknown key"),
      std::string::npos);
  EXPECT_NE(with(json::parse(R"([{"name":"a","target":"X"},{"name":"b","target":"X"}])")).find("same target"),
            std::string::npos);
  EXPECT_NE(with(json::parse(R"({"name":"a"})")).find("secrets: expected an array"), std::string::npos);
  EXPECT_NE(with(json::parse(R"(["a"])")).find("secrets[0]: expected an object"), std::string::npos);
}

}  // namespace
}  // namespace mcpvm::runner
