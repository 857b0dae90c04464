#include "runner/run_config.h"

#include "util/error.h"
#include "util/json_fields.h"

namespace mcpvm::runner {

using nlohmann::json;

std::string_view to_string(Transport t) {
  switch (t) {
    case Transport::stdio:
      return "stdio";
    case Transport::sse:
      return "sse";
    case Transport::streamable_http:
      return "streamable-http";
  }
  return "?";
}

Transport parse_transport(std::string_view text) {
  for (Transport t : {Transport::stdio, Transport::sse, Transport::streamable_http})
    if (text == to_string(t)) return t;
  fail("unknown transport {:?} (expected stdio, sse or streamable-http)", text);
}

std::string_view to_string(EndpointAuth a) {
  return a == EndpointAuth::bearer ? "bearer" : "none";
}

EndpointAuth parse_endpoint_auth(std::string_view text) {
  for (EndpointAuth a : {EndpointAuth::bearer, EndpointAuth::none})
    if (text == to_string(a)) return a;
  fail("unknown endpoint authentication {:?} (expected bearer or none)", text);
}

namespace {

// --- schema 2 ---

json machine_to_json(const MachineConfig& m) {
  return {{"qemu_binary", m.qemu_binary},
          {"kernel",
           {{"path", m.kernel.kernel.string()},
            {"modules_dir", m.kernel.modules_dir.string()},
            {"version", m.kernel.version}}},
          {"init_binary", m.init_binary.string()},
          {"rootfs", m.rootfs.string()},
          {"accel", vm::to_string(m.accel)},
          {"cpus", m.cpus},
          {"memory_mib", m.memory_mib},
          {"tcg_tb_mib", m.tcg_tb_mib},
          {"extra_cmdline", m.extra_cmdline}};
}

vm::Accel accel_field(JsonFields& f) {
  auto text = f.required<std::string>("accel");
  if (text == "kvm") return vm::Accel::kvm;
  if (text == "tcg") return vm::Accel::tcg;
  fail("{}: unknown accelerator {:?} (kvm or tcg)", f.key_path("accel"), text);
}

MachineConfig machine_from_json(JsonFields f) {
  MachineConfig m;
  m.qemu_binary = f.required<std::string>("qemu_binary");
  JsonFields k = f.object("kernel");
  m.kernel.kernel = k.required<std::string>("path");
  m.kernel.modules_dir = k.get<std::string>("modules_dir", "");
  m.kernel.version = k.get<std::string>("version", "");
  k.finish();
  m.init_binary = f.get<std::string>("init_binary", "");
  m.rootfs = f.required<std::string>("rootfs");
  m.accel = accel_field(f);
  m.cpus = f.required<unsigned>("cpus");
  m.memory_mib = f.required<unsigned>("memory_mib");
  m.tcg_tb_mib = f.get<unsigned>("tcg_tb_mib", 0);
  m.extra_cmdline = f.get<std::string>("extra_cmdline", "");
  f.finish();
  if (m.cpus == 0 || m.memory_mib == 0)
    fail("{}: cpus and memory_mib must be at least 1", f.key_path("cpus"));
  return m;
}

json process_to_json(const ProcessConfig& p) {
  return {{"argv", p.argv},
          {"workdir", p.workdir},
          {"user", p.user},
          {"hostname", p.hostname},
          {"env", {{"image", p.image_env}, {"transport", p.transport_env}, {"runtime", p.runtime_env}}}};
}

ProcessConfig process_from_json(JsonFields f) {
  ProcessConfig p;
  p.argv = f.required<std::vector<std::string>>("argv");
  if (p.argv.empty()) fail("{}: the command is empty", f.key_path("argv"));
  p.workdir = f.get<std::string>("workdir", "");
  p.user = f.get<std::string>("user", "");
  p.hostname = f.get<std::string>("hostname", p.hostname);
  JsonFields env = f.object("env");
  p.image_env = env.get<std::vector<std::string>>("image", {});
  p.transport_env = env.get<std::vector<std::string>>("transport", {});
  p.runtime_env = env.get<std::vector<std::string>>("runtime", {});
  env.finish();
  f.finish();
  return p;
}

json tools_override_to_json(const std::map<std::string, mcp::ToolOverride>& overrides) {
  json j = json::object();
  for (const auto& [server, o] : overrides) j[server] = {{"name", o.name}, {"description", o.description}};
  return j;
}

json mcp_to_json(const McpConfig& m) {
  return {{"transport", to_string(m.transport)},
          {"target_port", m.target_port},
          {"proxy_port", m.proxy_port},
          {"endpoint_auth", to_string(m.auth)},
          {"tools", m.tools ? json(*m.tools) : json(nullptr)},
          {"tools_override", tools_override_to_json(m.tools_override)},
          {"audit_arguments", m.audit_arguments}};
}

McpConfig mcp_from_json(JsonFields f) {
  McpConfig m;
  m.transport = with_context(f.key_path("transport"),
                             [&] { return parse_transport(f.required<std::string>("transport")); });
  m.target_port = f.get<uint16_t>("target_port", 0);
  m.proxy_port = f.get<uint16_t>("proxy_port", 0);
  m.auth = with_context(f.key_path("endpoint_auth"),
                        [&] { return parse_endpoint_auth(f.get<std::string>("endpoint_auth", "bearer")); });
  if (f.has("tools")) {
    auto names = f.required<std::vector<std::string>>("tools");
    m.tools = std::set<std::string>(names.begin(), names.end());
  }
  f.raw("tools");  // absent or null: every tool
  if (const json& overrides = f.raw("tools_override"); !overrides.is_null())
    m.tools_override = with_context(f.key_path("tools_override"), [&] {
      return mcp::parse_tools_override({{"toolsOverride", overrides}});
    });
  m.audit_arguments = f.get<bool>("audit_arguments", false);
  f.finish();
  with_context(f.key_path("tools"), [&] { mcp::ToolPolicy(m.tools, m.tools_override); });
  if ((m.transport == Transport::stdio) != (m.target_port == 0))
    fail("{}: an HTTP transport needs a target port and stdio has none", f.key_path("target_port"));
  return m;
}

json timeouts_to_json(const Timeouts& t) {
  return {{"boot_ms", t.boot.count()}, {"ready_s", t.ready.count()}, {"stop_ms", t.stop.count()}};
}

Timeouts timeouts_from_json(JsonFields f) {
  Timeouts t;
  t.boot = std::chrono::milliseconds(f.get<uint32_t>("boot_ms", uint32_t(t.boot.count())));
  t.ready = std::chrono::seconds(f.get<uint32_t>("ready_s", uint32_t(t.ready.count())));
  t.stop = std::chrono::milliseconds(f.get<uint32_t>("stop_ms", uint32_t(t.stop.count())));
  f.finish();
  return t;
}

// --- secrets: [{"name": "github", "target": "GITHUB_TOKEN"}, ...] (references, never values) ---

json secrets_to_json(const std::vector<secrets::SecretRef>& refs) {
  json out = json::array();
  for (const auto& r : refs) out.push_back({{"name", r.name}, {"target", r.target}});
  return out;
}

std::vector<secrets::SecretRef> secrets_from_json(const json& array) {
  std::vector<secrets::SecretRef> refs;
  for (size_t i = 0; i < array.size(); ++i) {
    std::string path = fmt::format("secrets[{}]", i);
    if (!array[i].is_object()) fail("{}: expected an object", path);
    JsonFields f(array[i], path);
    secrets::SecretRef r{f.required<std::string>("name"), f.required<std::string>("target")};
    f.finish();
    with_context(path, [&] {
      secrets::check_secret_name(r.name);
      secrets::check_env_target(r.target);
    });
    refs.push_back(std::move(r));
  }
  with_context("secrets", [&] { secrets::check_unique_targets(refs); });
  return refs;
}

// --- volumes ---

json volumes_to_json(const std::vector<vm::Volume>& volumes) {
  json out = json::array();
  for (const auto& v : volumes)
    out.push_back({{"host", v.host.string()}, {"guest", v.guest}, {"read_only", v.read_only}});
  return out;
}

// The saved host path is used as it is (canonicalised at `run`); the guest path is checked again.
std::vector<vm::Volume> volumes_from_json(const json& array) {
  std::vector<vm::Volume> volumes;
  for (size_t i = 0; i < array.size(); ++i) {
    JsonFields f(array[i], fmt::format("volumes[{}]", i));
    vm::Volume v;
    v.host = f.required<std::string>("host");
    if (!v.host.is_absolute()) fail("{}: must be absolute", f.key_path("host"));
    v.guest = with_context(f.key_path("guest"),
                           [&] { return vm::normalize_guest_path(f.required<std::string>("guest")); });
    v.read_only = f.required<bool>("read_only");
    f.finish();
    vm::add_volume(volumes, v);
  }
  return volumes;
}

RunConfig parse_v2(const json& j) {
  JsonFields f(j, "");
  RunConfig c;
  c.schema_version = f.required<int>("schema_version");
  c.name = f.get<std::string>("name", "");
  c.image = f.required<std::string>("image");
  c.machine = machine_from_json(f.object("machine"));
  c.process = process_from_json(f.object("process"));
  c.network = net::network_request_from_json(f.raw("network"), "network");
  c.mcp = mcp_from_json(f.object("mcp"));
  c.restart =
      with_context("restart", [&] { return RestartPolicy::parse(f.required<std::string>("restart")); });
  c.timeouts = timeouts_from_json(f.object("timeouts"));
  c.remove_on_exit = f.get<bool>("remove_on_exit", false);
  c.secrets = secrets_from_json(f.array("secrets"));
  c.volumes = volumes_from_json(f.array("volumes"));
  f.finish();
  if (c.mcp.transport != Transport::stdio && !c.network.enabled)
    fail("mcp.transport {}: an HTTP server is reached through the VM's network, which is disabled",
         to_string(c.mcp.transport));
  return c;
}

// --- schema 1: the unversioned format, read as leniently as the code that wrote it (unknown keys pass) ---

void migrate_v1_env(JsonFields& guest, ProcessConfig& p, const std::vector<std::string>& top_level_env) {
  auto layers = guest.get<std::vector<std::vector<std::string>>>("env_layers", {});
  // Earliest runs wrote [image, runtime]; --transport added a middle layer [image, transport, runtime].
  if (layers.size() > 3) fail("vm.spec.guest.env_layers: {} layers, expected at most 3", layers.size());
  if (!layers.empty()) p.image_env = layers.front();
  if (layers.size() == 3) p.transport_env = layers[1];
  if (layers.size() >= 2) p.runtime_env = layers.back();
  p.runtime_env.insert(p.runtime_env.end(), top_level_env.begin(), top_level_env.end());
}

net::NetworkRequest migrate_v1_network(JsonFields& vm) {
  const json& saved = vm.raw("network_flags");
  // Runs from before the user network existed had no NIC.
  if (saved.is_null()) return net::build_network_request(net::NetworkFlags{.network = "none"});
  JsonFields f(saved, "vm.network_flags");
  net::NetworkFlags flags;
  flags.publish = f.get<std::vector<std::string>>("publish", {});
  flags.permission_profile = f.get<std::string>("permission_profile", "");
  flags.allow_host = f.get<std::vector<std::string>>("allow_host", {});
  flags.allow_port = f.get<std::vector<std::string>>("allow_port", {});
  flags.network = f.get<std::string>("network", "");
  flags.add_host = f.get<std::vector<std::string>>("add_host", {});
  flags.allow_host_loopback = f.get<bool>("allow_host_loopback", false);
  return with_context("vm.network_flags", [&] { return net::build_network_request(flags); });
}

RunConfig migrate_v1(const json& j) {
  JsonFields top(j, "");
  RunConfig c;
  c.schema_version = 1;
  c.name = top.get<std::string>("name", "");
  c.image = top.required<std::string>("image");
  c.restart = RestartPolicy::parse(top.get<std::string>("restart", "no"));
  c.timeouts.ready = std::chrono::seconds(top.get<uint32_t>("ready_timeout_s", 60));
  c.remove_on_exit = top.get<bool>("remove_on_exit", false);
  JsonFields vm = top.object("vm");
  JsonFields spec = vm.object("spec");
  JsonFields kernel = spec.object("kernel");
  c.machine.qemu_binary = spec.get<std::string>("qemu_binary", c.machine.qemu_binary);
  c.machine.kernel = {kernel.required<std::string>("kernel"), kernel.get<std::string>("modules_dir", ""),
                      kernel.get<std::string>("version", "")};
  c.machine.init_binary = spec.get<std::string>("init_binary", "");
  c.machine.rootfs = spec.required<std::string>("rootfs");
  std::string accel = spec.get<std::string>("accel", "tcg");
  if (accel != "kvm" && accel != "tcg") fail("vm.spec.accel: unknown accelerator {:?}", accel);
  c.machine.accel = accel == "kvm" ? vm::Accel::kvm : vm::Accel::tcg;
  c.machine.cpus = spec.get<unsigned>("cpus", 1);
  c.machine.memory_mib = spec.get<unsigned>("memory_mib", 512);
  c.machine.tcg_tb_mib = spec.get<unsigned>("tcg_tb_mib", 0);
  c.machine.extra_cmdline = spec.get<std::string>("extra_cmdline", "");
  c.timeouts.boot = std::chrono::milliseconds(spec.get<uint32_t>("boot_timeout_ms", 60000));
  JsonFields guest = spec.object("guest");
  c.process.argv = guest.get<std::vector<std::string>>("argv", {});
  if (c.process.argv.empty()) fail("vm.spec.guest.argv: the command is empty");
  c.process.workdir = guest.get<std::string>("workdir", "");
  c.process.user = guest.get<std::string>("user", "");
  c.process.hostname = guest.get<std::string>("hostname", c.process.hostname);
  migrate_v1_env(guest, c.process, top.get<std::vector<std::string>>("env", {}));
  c.mcp.transport = parse_transport(vm.get<std::string>("transport", "stdio"));
  c.mcp.target_port = vm.get<uint16_t>("target_port", 0);
  c.mcp.proxy_port = vm.get<uint16_t>("proxy_port", 0);
  c.timeouts.stop = std::chrono::milliseconds(int64_t(vm.get<double>("stop_timeout_s", 10.0) * 1000));
  c.network = migrate_v1_network(vm);
  return c;
}

}  // namespace

json to_json(const RunConfig& c) {
  return {{"schema_version", kRunConfigSchema},
          {"name", c.name},
          {"image", c.image},
          {"machine", machine_to_json(c.machine)},
          {"process", process_to_json(c.process)},
          {"network", net::to_json(c.network)},
          {"mcp", mcp_to_json(c.mcp)},
          {"restart", c.restart.to_string()},
          {"timeouts", timeouts_to_json(c.timeouts)},
          {"remove_on_exit", c.remove_on_exit},
          {"secrets", secrets_to_json(c.secrets)},
          {"volumes", volumes_to_json(c.volumes)}};
}

RunConfig parse_run_config(const json& j) {
  if (!j.is_object()) fail("not a JSON object");
  auto version = j.find("schema_version");
  if (version == j.end()) return with_context("schema 1 (unversioned)", [&] { return migrate_v1(j); });
  if (!version->is_number_integer()) fail("schema_version: expected an integer");
  int v = version->get<int>();
  if (v == kRunConfigSchema) return parse_v2(j);
  if (v > kRunConfigSchema)
    fail("schema_version {} was written by a newer mcpvm (this one reads up to {}): upgrade mcpvm", v,
         kRunConfigSchema);
  fail("schema_version {}: unknown (this mcpvm reads 1 to {})", v, kRunConfigSchema);
}

vm::VmSpec vm_spec(const RunConfig& c) {
  vm::VmSpec spec;
  spec.qemu_binary = c.machine.qemu_binary;
  spec.kernel = c.machine.kernel;
  spec.init_binary = c.machine.init_binary;
  spec.rootfs = c.machine.rootfs;
  spec.cpus = c.machine.cpus;
  spec.memory_mib = c.machine.memory_mib;
  spec.accel = c.machine.accel;
  spec.tcg_tb_mib = c.machine.tcg_tb_mib;
  spec.extra_cmdline = c.machine.extra_cmdline;
  spec.boot_timeout = c.timeouts.boot;
  spec.guest.argv = c.process.argv;
  spec.guest.workdir = c.process.workdir;
  spec.guest.user = c.process.user;
  spec.guest.hostname = c.process.hostname;
  spec.guest.env_layers = {c.process.image_env, c.process.transport_env, c.process.runtime_env};
  spec.guest.secret_count = uint32_t(c.secrets.size());  // the values arrive over ctl (guest/protocol.h)
  spec.volumes = c.volumes;
  return spec;
}

}  // namespace mcpvm::runner
