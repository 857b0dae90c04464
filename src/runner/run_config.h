// RunConfig: a VM's saved run request, everything `run` resolved, so that the runner (and a later `start`,
// after a host reboot or an mcpvm upgrade) boots exactly that. Saved as $MCPVM_HOME/vms/NAME/config.json
// (0600; runtime env values may be secrets and are never logged).
//
// Who writes what: `run` (cli/cmd_run.cpp) fills every field once, from its flags and the image's config;
// the runner only reads it (vm_spec() for each boot, the network and MCP settings for its endpoint).
// Adding a field: give it a default, write it in to_json, read it with JsonFields in run_config.cpp.
// A field an older config lacks takes its default; a change of meaning needs kRunConfigSchema + 1 and a
// migration beside migrate_v1.
//
// Schema history:
//   1  unversioned (mcpvm 0.1): name/image/args/env/restart/ready_timeout_s/remove_on_exit plus a JSON bag
//      "vm" {transport, stop_timeout_s, target_port, proxy_port, network_flags (the raw flags), spec}
//   2  typed sections: machine, process, network, mcp, timeouts; later "secrets" (optional, default [])
//      and "volumes" (absent: none)
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/tool_policy.h"
#include "net/request.h"
#include "runner/restart.h"
#include "secrets/name.h"
#include "vm/vm.h"

namespace mcpvm::runner {

inline constexpr int kRunConfigSchema = 2;

// The server's own MCP transport in the guest.
enum class Transport { stdio, sse, streamable_http };
std::string_view to_string(Transport t);
Transport parse_transport(std::string_view text);  // "stdio" | "sse" | "streamable-http"; throws otherwise

// What QEMU boots.
struct MachineConfig {
  std::string qemu_binary = "qemu-system-x86_64";
  vm::KernelFiles kernel;
  std::filesystem::path init_binary;  // empty: mcpvm-init beside the mcpvm binary
  std::filesystem::path rootfs;       // the image's squashfs (rootfs cache, or --rootfs)
  vm::Accel accel = vm::Accel::tcg;
  unsigned cpus = 1;
  unsigned memory_mib = 512;
  unsigned tcg_tb_mib = 0;    // MCPVM_TCG_TB_MIB at `run`; 0 = QEMU's default
  std::string extra_cmdline;  // MCPVM_KERNEL_APPEND at `run`
};

// The server process in the guest.
struct ProcessConfig {
  std::vector<std::string> argv;  // resolved from the image's Entrypoint + Cmd, --entrypoint and ARGS
  std::string workdir;            // the image's WorkingDir
  std::string user;               // the image's User
  std::string hostname = "mcpvm";
  // Environment layers, lowest precedence first; the init merges them (guest/env.h). KEY=VALUE entries.
  std::vector<std::string> image_env;      // the image's Env
  std::vector<std::string> transport_env;  // MCP_TRANSPORT, MCP_PORT, ... (set by `run` for --transport)
  std::vector<std::string> runtime_env;    // -e / --env-file: may hold secrets
};

// Who may use the VM's endpoint: the holder of its bearer token (the default; runner/endpoint_token.h),
// or anyone who can reach 127.0.0.1 (`run --endpoint-auth none`).
enum class EndpointAuth { bearer, none };
std::string_view to_string(EndpointAuth a);
EndpointAuth parse_endpoint_auth(std::string_view text);  // "bearer" | "none"; throws otherwise

// How the runner reaches the server and serves it.
struct McpConfig {
  Transport transport = Transport::stdio;
  uint16_t target_port = 0;                  // HTTP transports: the server's port in the guest; 0 for stdio
  uint16_t proxy_port = 0;                   // our endpoint's fixed port on 127.0.0.1; 0: a free one
  EndpointAuth auth = EndpointAuth::bearer;  // a config without the key (older mcpvm) gets the default
  // run --tools: the only tools clients see and may call (names as clients see them); nullopt: all.
  std::optional<std::set<std::string>> tools;
  std::map<std::string, mcp::ToolOverride> tools_override;  // run --tools-override FILE, by server name
  bool audit_arguments = false;                             // run --audit-args
};

struct Timeouts {
  std::chrono::milliseconds boot{60000};  // the init's Ready must arrive by then
  std::chrono::seconds ready{60};         // the server must answer its readiness probe by then
  std::chrono::milliseconds stop{10000};  // SIGTERM to power-off, when a signal stops the runner
};

struct RunConfig {
  int schema_version = kRunConfigSchema;  // of the file it was read from; to_json always writes the current
  std::string name;
  std::string image;  // as the user named it
  MachineConfig machine;
  ProcessConfig process;
  net::NetworkRequest network;
  McpConfig mcp;
  RestartPolicy restart;
  Timeouts timeouts;
  bool remove_on_exit = false;  // --rm
  // --secret NAME,target=ENV: references only, never values (resolved at each boot; secrets/delivery.h).
  // Absent in older configs: none.
  std::vector<secrets::SecretRef> secrets;
  std::vector<vm::Volume> volumes;  // -v and the permission profile's read/write (vm/volume.h)
};

nlohmann::json to_json(const RunConfig& config);

// Reads any schema this mcpvm knows (1 is migrated). Strict for the current schema: unknown keys and wrong
// types are errors naming the key ("process.argv: expected an array of strings"). Throws Error.
RunConfig parse_run_config(const nlohmann::json& j);

// The VM of one boot, without what each boot adds (console, network fd, owner tag).
vm::VmSpec vm_spec(const RunConfig& config);

}  // namespace mcpvm::runner
