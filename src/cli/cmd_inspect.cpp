// `mcpvm inspect NAME`: everything known about a VM as JSON — state (reconciled), config (environment
// values redacted: they may be secrets), pids with start times, paths.
#include "cli/command.h"
#include "cli/endpoint_info.h"
#include "runner/endpoint_token.h"
#include "runner/lifecycle.h"
#include "util/error.h"
#include "util/fs.h"
#include "vm/volume.h"

namespace mcpvm::cli {
namespace {

// Environment values may be secrets: only their names are shown.
runner::RunConfig redact_env(runner::RunConfig config) {
  for (auto* layer : {&config.process.image_env, &config.process.transport_env, &config.process.runtime_env})
    for (auto& e : *layer) e = e.substr(0, e.find('=')) + "=<redacted>";
  return config;
}

// DIR/network.json, kept current by the runner (runner/boot_network.h): the policy summary and the
// allowed/denied counters per reason (docs/net.md). null when the VM has no network (--network none) or never
// booted.
nlohmann::json network_record(const runner::VmDir& dir) {
  auto path = dir.root() / "network.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return nullptr;
  try {
    return nlohmann::json::parse(read_file(path, 1 << 20));
  } catch (const std::exception& e) {
    return {{"error", fmt::format("{}: {}", path.string(), e.what())}};
  }
}

// Each volume with its mode and what enforces it (docs/volumes.md).
nlohmann::json volumes_record(const runner::VmDir& dir) {
  nlohmann::json out = nlohmann::json::array();
  try {
    for (const auto& v : dir.load_config().volumes)
      out.push_back({{"host", v.host.string()},
                     {"guest", v.guest},
                     {"mode", v.read_only ? "ro" : "rw"},
                     {"enforced", vm::volume_enforcement(v)}});
  } catch (const Error&) {
    // config_error already says why
  }
  return out;
}

int run_inspect(const std::string& name) {
  runner::VmDir dir = runner::VmDir::for_name(name);
  if (!dir.exists()) fail("no such VM: {}", name);
  runner::VmListing l = runner::describe_vm(name);
  nlohmann::json out;
  out["name"] = name;
  out["status"] = runner::to_string(l.status.status);
  if (!l.status.note.empty()) out["note"] = l.status.note;
  out["state"] = l.state ? runner::to_json(*l.state) : nlohmann::json(nullptr);
  out["endpoint"] = to_json(endpoint_info(dir, l.state ? l.state->endpoint : ""));
  // The credential a client needs (the owner may read it: it is in their own 0600 file anyway).
  try {
    if (auto token = runner::read_endpoint_token(dir); token && out["endpoint"]["auth"] == "bearer") {
      out["endpoint"]["token"] = *token;
      out["endpoint"]["headers"] = {{"Authorization", "Bearer " + *token}};
    }
  } catch (const Error& e) {
    out["endpoint"]["token_error"] = e.what();
  }
  try {
    out["config"] = runner::to_json(redact_env(dir.load_config()));
  } catch (const Error& e) {
    out["config_error"] = e.what();
  }
  out["network"] = network_record(dir);
  out["volumes"] = volumes_record(dir);
  out["paths"] = {{"dir", dir.root().string()},
                  {"state", dir.state_path().string()},
                  {"control_socket", dir.control_socket().string()},
                  {"endpoint_token", dir.endpoint_token_file().string()},
                  {"server_log", dir.server_log().string()},
                  {"console_log", dir.console_log().string()},
                  {"runner_log", dir.runner_log().string()}};
  nlohmann::json procs = nlohmann::json::array();
  for (auto& p : runner::find_vm_processes(dir))
    procs.push_back({{"pid", p.pid}, {"start_time", p.start_time}});
  out["processes"] = procs;
  print_json(out);
  return 0;
}

const Command kInspect{"inspect", "Show everything about a VM as JSON", 42, [](CLI::App& app) {
                         auto name = std::make_shared<std::string>();
                         app.add_option("name", *name, "VM name")->required();
                         return [name] { return run_inspect(*name); };
                       }};

}  // namespace
}  // namespace mcpvm::cli
