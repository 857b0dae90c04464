// `mcpvm run [--foreground] IMAGE [-- ARGS]`: boots the image in a microVM. Detached (the default), a
// runner process owns the VM and serves its MCP endpoint (runner/lifecycle.h); with --foreground the
// terminal is attached to the command's stdio (docker-run semantics; see vm/command.h). This file only
// turns flags, a registry entry (`run NAME`, cli/run_image.h) and the image's config into a RunConfig
// (runner/run_config.h): every flag is checked before a registry is asked or an image looked up or pulled,
// so a typo fails at once.
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>

#include "cli/client_registry.h"
#include "cli/command.h"
#include "cli/foreground_dir.h"
#include "cli/network_flags.h"
#include "cli/registry_lookup.h"
#include "cli/run_image.h"
#include "guest/secrets_message.h"
#include "mcp/client_config.h"
#include "mcp/endpoint_url.h"
#include "mcp/tool_policy.h"
#include "net/request.h"
#include "net/user_network.h"
#include "oci/store.h"
#include "registry/run_plan.h"
#include "rootfs/ensure.h"
#include "runner/lifecycle.h"
#include "runner/log_file.h"
#include "runner/names.h"
#include "runner/probe.h"
#include "runner/run_config.h"
#include "runner/volumes.h"
#include "secrets/delivery.h"
#include "secrets/name.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/json_depth.h"
#include "util/port.h"
#include "vm/accel.h"
#include "vm/attach.h"
#include "vm/command.h"
#include "vm/kernel.h"
#include "vm/vm.h"

namespace mcpvm::cli {
namespace {

struct RunOptions {
  bool foreground = false;
  std::optional<std::string> entrypoint;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  unsigned cpus = 1;
  unsigned memory_mib = 512;
  double stop_timeout_s = 10;
  std::string kernel;
  std::string image;             // an image reference or a registry name (cli/run_image.h)
  std::string pull = "missing";  // --pull missing|always|never (docker's)
  bool accept_mounts = false;    // --accept-mounts: a registry entry's host mounts are applied
  std::vector<std::string> args;
  // Development aids (hidden): boot this squashfs with this image config instead of a stored image.
  std::string rootfs;
  std::string image_config;
  std::string console_log;
  // Detached runs (docs/runner.md).
  std::string name;
  bool remove = false;
  std::string restart = "no";
  std::string ready_timeout = "60s";
  // The server's MCP transport (docs/mcp.md "Servers that speak HTTP"): stdio, or an HTTP server on
  // target_port in the guest that the runner reaches through a forwarded loopback port.
  std::string transport;     // empty: the registry entry's, else stdio
  uint16_t target_port = 0;  // 0: the user's -e MCP_PORT, else kDefaultTargetPort
  uint16_t proxy_port = 0;   // our endpoint's port on 127.0.0.1; 0: a free one
  std::string endpoint_auth = "bearer";
  std::string tools;           // --tools a,b
  std::string tools_override;  // --tools-override FILE
  bool audit_args = false;
  std::vector<std::string> register_with;  // --register CLIENT
  net::NetworkFlags net;                   // none given = the "network" profile (egress, no host loopback)
  std::vector<std::string> secrets;        // --secret NAME,target=ENV (references; see "Secrets" below)
  // -v/--volume specs, checked with the profile's read/write entries (runner/volumes.h).
  std::vector<std::string> volumes;
};

constexpr uint16_t kDefaultTargetPort = 8080;  // ToolHive's default for HTTP servers in containers

// The image's command, env, workdir and user (docker's capitalised config keys).
struct ImageDefaults {
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir, user;
};

ImageDefaults image_config_from_file(const std::string& path) {
  auto j =
      with_context("reading --image-config " + path, [&] { return nlohmann::json::parse(read_file(path)); });
  auto list = [&](const char* key) {
    return j.contains(key) && j[key].is_array() ? j[key].get<std::vector<std::string>>()
                                                : std::vector<std::string>{};
  };
  return {list("Entrypoint"), list("Cmd"), list("Env"), j.value("WorkingDir", ""), j.value("User", "")};
}

// The squashfs and the config of IMAGE.
std::pair<std::filesystem::path, ImageDefaults> locate_image(const RunOptions& o) {
  if (!o.rootfs.empty()) {
    ImageDefaults d = o.image_config.empty() ? ImageDefaults{} : image_config_from_file(o.image_config);
    return {std::filesystem::absolute(o.rootfs), d};
  }
  auto home = ensure_mcpvm_home();
  oci::Store store(home);
  oci::Image image = ensure_image(o.image, parse_pull_policy(o.pull));
  auto rootfs = with_context("preparing the root filesystem of " + image.reference,
                             [&] { return rootfs::ensure_rootfs(store, image, home); });
  const auto& c = image.config;
  return {rootfs, {c.entrypoint, c.cmd, c.env, c.working_dir, c.user}};
}

// The last NAME=... in an env layer.
std::optional<std::string> env_value(const std::vector<std::string>& layer, std::string_view name) {
  std::optional<std::string> value;
  for (const auto& e : layer)
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=')
      value = e.substr(name.size() + 1);
  return value;
}

// The port the server listens on in the guest: --target-port, else the user's own MCP_PORT (so -e
// MCP_PORT=9000 alone moves the forward too), else 8080. 0 for stdio servers.
uint16_t resolve_target_port(const runner::McpConfig& mcp, const std::vector<std::string>& runtime_env) {
  if (mcp.transport == runner::Transport::stdio) return 0;
  if (mcp.target_port) return mcp.target_port;
  auto user = env_value(runtime_env, "MCP_PORT");
  if (!user) return kDefaultTargetPort;
  return with_context(fmt::format("MCP_PORT={:?} from -e/--env-file (or set --target-port)", *user),
                      [&] { return parse_port(*user); });
}

// What the server learns about its transport, as ToolHive sets it (pkg/runner, pkg/transport): MCP_TRANSPORT
// always; for HTTP transports MCP_PORT, FASTMCP_PORT and MCP_HOST=0.0.0.0 (the forward arrives on the
// guest's eth0, not on its loopback). We also set PORT, the Node/Express convention (server-everything
// reads only PORT). This layer sits between the image's Env and the user's -e/--env-file: the user wins.
std::vector<std::string> transport_env(const runner::McpConfig& mcp) {
  std::vector<std::string> env{"MCP_TRANSPORT=" + std::string(to_string(mcp.transport))};
  if (mcp.transport == runner::Transport::stdio) return env;
  std::string port = std::to_string(mcp.target_port);
  for (const char* name : {"MCP_PORT", "FASTMCP_PORT", "PORT"}) env.push_back(std::string(name) + "=" + port);
  env.push_back("MCP_HOST=0.0.0.0");
  return env;
}

// Fails with a clear message when 127.0.0.1:port cannot be bound now (the runner binds it again; this
// only makes the common mistake fail fast instead of after the VM booted).
void check_proxy_port_free(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) fail_errno("socket");
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as the endpoint binds
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    fail(
        "--proxy-port {}: cannot listen on 127.0.0.1:{} ({}); pick another port or leave --proxy-port out "
        "for a free one",
        port, port, std::strerror(errno));
}

std::chrono::milliseconds boot_timeout(vm::Accel accel) {
  if (const char* s = std::getenv("MCPVM_BOOT_TIMEOUT"); s && *s)
    return std::chrono::milliseconds(long(std::atof(s) * 1000));
  // TCG boots take 3-8 s on a loaded 2-core host; KVM well under one.
  return accel == vm::Accel::tcg ? std::chrono::seconds(120) : std::chrono::seconds(30);
}

unsigned tcg_tb_mib_from_env() {
  const char* tb = std::getenv("MCPVM_TCG_TB_MIB");
  if (!tb || !*tb) return 0;
  char* end = nullptr;
  unsigned long mib = std::strtoul(tb, &end, 10);
  if (*end != '\0' || mib > 4096)
    fail("MCPVM_TCG_TB_MIB={:?}: expected MiB from 0 (QEMU's default) to 4096", tb);
  return unsigned(mib);
}

// --- Secrets (docs/SECURITY.md "Secrets") ---

// --secret NAME,target=ENV flags as RunConfig references.
std::vector<secrets::SecretRef> secret_refs(const std::vector<std::string>& flags) {
  std::vector<secrets::SecretRef> refs;
  for (const auto& f : flags) refs.push_back(secrets::parse_secret_flag(f));
  secrets::check_unique_targets(refs);
  return refs;
}

// -e NAME=value keeps working, but a name that looks like a credential gets a one-line hint: its value
// lands in the VM's config.json, where --secret keeps only a reference.
void hint_credential_env(const std::vector<std::string>& env) {
  for (const auto& e : env) {
    std::string name = e.substr(0, e.find('='));
    std::string upper;
    for (char c : name) upper += char(std::toupper(static_cast<unsigned char>(c)));
    for (const char* word : {"TOKEN", "KEY", "SECRET", "PASSWORD"})
      if (upper.find(word) != std::string::npos) {
        std::cerr << fmt::format(
            "mcpvm: hint: -e {} looks like a credential; `mcpvm secret set NAME` and --secret NAME,target={} "
            "keep it out of the VM's saved config\n",
            name, name);
        break;
      }
  }
}

// run --foreground: the secrets are resolved here and sent as the first ctl frame; QEMU (our child)
// inherits no MCPVM_SECRET_* or passphrase.
std::vector<std::string> foreground_secrets(const runner::RunConfig& config) {
  if (config.secrets.empty()) return {};
  auto delivery = secrets::prepare_delivery(config.secrets, secrets::SecretStore::default_store());
  auto env = secrets::resolve_env(config.secrets, delivery);
  secrets::remove_secrets_from_environment();
  return env;
}

void send_secrets(vm::Vm& machine, std::vector<std::string>& env) {
  if (env.empty()) return;
  std::string payload = guest::encode_secrets(env);
  secrets::wipe(env);
  machine.send(guest::MsgType::Secrets, payload);
  secrets::wipe(payload);
}

// Every flag on its own and together, before anything is looked up: the parts of the config that come
// from flags alone.
runner::RunConfig config_from_flags(const RunOptions& o) {
  runner::RunConfig c;
  c.name = o.name;
  if (!c.name.empty()) runner::check_vm_name(c.name);
  c.image = o.image;
  if (o.cpus == 0) fail("--cpus 0: a VM needs at least one virtual CPU");
  if (o.memory_mib < 64) fail("--memory {}: a VM needs at least 64 MiB", o.memory_mib);
  if (o.stop_timeout_s < 0) fail("--stop-timeout {}: expected seconds, 0 or more", o.stop_timeout_s);
  c.machine.cpus = o.cpus;
  c.machine.memory_mib = o.memory_mib;
  c.restart = with_context("--restart", [&] { return runner::RestartPolicy::parse(o.restart); });
  c.timeouts.ready = with_context("--ready-timeout", [&] { return runner::parse_duration(o.ready_timeout); });
  c.timeouts.stop = std::chrono::milliseconds(long(o.stop_timeout_s * 1000));
  c.remove_on_exit = o.remove;
  c.secrets = secret_refs(o.secrets);
  with_context("--pull", [&] { parse_pull_policy(o.pull); });
  c.mcp.transport = runner::parse_transport(o.transport.empty() ? "stdio" : o.transport);
  c.mcp.target_port = o.target_port;
  c.mcp.proxy_port = o.proxy_port;
  c.mcp.auth = runner::parse_endpoint_auth(o.endpoint_auth);
  if (!o.tools.empty()) c.mcp.tools = mcp::parse_tool_list(o.tools);
  if (!o.tools_override.empty())
    c.mcp.tools_override = with_context("--tools-override " + o.tools_override, [&] {
      auto doc = parse_untrusted_json(read_file(o.tools_override, 1 << 20));
      if (doc.is_discarded()) fail("not valid JSON (or nested too deeply)");
      return mcp::parse_tools_override(doc);
    });
  with_context("--tools", [&] { mcp::ToolPolicy(c.mcp.tools, c.mcp.tools_override); });
  c.mcp.audit_arguments = o.audit_args;
  for (const auto& id : o.register_with) {
    const mcp::McpClient* client = mcp::find_mcp_client(id);
    if (!client) fail("--register {:?}: unknown client (see mcpvm client ls)", id);
    if (o.foreground) fail("--register: run --foreground serves no MCP endpoint");
  }
  if (o.foreground && (c.mcp.tools || !c.mcp.tools_override.empty()))
    fail(
        "--tools/--tools-override: run --foreground serves no MCP endpoint (the terminal is the server's "
        "stdio)");
  if (o.foreground && o.proxy_port)
    fail("--proxy-port: run --foreground serves no MCP endpoint (the terminal is the server's stdio)");
  if (o.target_port && c.mcp.transport == runner::Transport::stdio)
    fail("--target-port {} needs --transport sse or streamable-http (a stdio server has no port)",
         o.target_port);
  c.network = net::build_network_request(o.net);
  if (c.mcp.transport != runner::Transport::stdio && !c.network.enabled)
    fail(
        "--transport {} needs the VM's network (the runner forwards a loopback port to the server's port in "
        "the guest): drop --network none, or use --transport stdio",
        c.mcp.transport == runner::Transport::sse ? "sse" : "streamable-http");
  if (o.proxy_port && !o.foreground) check_proxy_port_free(o.proxy_port);
  c.volumes = runner::build_volumes(o.volumes, o.net.permission_profile, std::filesystem::current_path());
  if (o.net.permission_profile.empty() && !o.net.profile_document.is_null())
    runner::add_profile_volumes(c.volumes, net::parse_permission_profile(o.net.profile_document),
                                "the registry entry's permissions", std::filesystem::current_path());
  c.machine.tcg_tb_mib = tcg_tb_mib_from_env();
  // Another QEMU (a build of one's own, or bench/volume's wrapper that swaps 9p for virtiofs).
  if (const char* qemu = std::getenv("MCPVM_QEMU"); qemu && *qemu) c.machine.qemu_binary = qemu;
  // A debugging knob, as Firecracker's boot_args: e.g. MCPVM_KERNEL_APPEND="initcall_debug printk.time=1".
  if (const char* extra = std::getenv("MCPVM_KERNEL_APPEND"); extra && *extra)
    c.machine.extra_cmdline = extra;
  return c;
}

// --- Run by name (cli/run_image.h, registry/run_plan.h) ---

// Whether a secret named NAME can be resolved: MCPVM_SECRET_<NAME>, else the store (unlocked only when
// asked, and once).
std::function<bool(const std::string&)> secret_availability() {
  auto names = std::make_shared<std::optional<std::vector<std::string>>>();
  return [names](const std::string& name) {
    if (std::getenv(secrets::env_provider_var(name).c_str())) return true;
    auto store = secrets::SecretStore::default_store();
    if (!store.exists()) return false;
    if (!*names) *names = store.names();
    return std::find((*names)->begin(), (*names)->end(), name) != (*names)->end();
  };
}

// The names the user's -e and --env-file set.
std::set<std::string> env_names_given(const RunOptions& o) {
  std::vector<std::string> files;
  for (const auto& f : o.env_files)
    files.push_back(with_context("--env-file", [&] { return read_file(f, 1 << 20); }));
  std::set<std::string> names;
  for (const auto& e : vm::runtime_env(files, o.env, vm::process_env()))
    names.insert(e.substr(0, e.find('=')));
  return names;
}

// A VM run by registry name is called by the entry's short name when the user gave none and it is free.
std::string default_vm_name(const registry::RegistryEntry& entry) {
  std::string name = entry.short_name();
  if (!runner::is_valid_vm_name(name)) return "";
  auto home = mcpvm_home();
  return std::filesystem::exists(home / "vms" / name) ? "" : name;
}

// A registry is a third party: host paths it wants shared with the VM (read or write) are applied only when
// the user says so, never silently (a hostile entry could otherwise share ~/.ssh with an allow-all VM).
void check_registry_mounts(const registry::RegistryEntry& entry, const nlohmann::json& permissions,
                           bool accepted) {
  net::PermissionProfile profile = net::parse_permission_profile(permissions);
  if (accepted || (profile.read.empty() && profile.write.empty())) return;
  std::string list;
  for (const auto& p : profile.read) list += fmt::format("\n  {} (read-only)", p);
  for (const auto& p : profile.write) list += fmt::format("\n  {} (read-write)", p);
  fail(
      "{}: the registry entry shares host paths with the VM:{}\nrun again with --accept-mounts to share "
      "them, "
      "or give your own --permission-profile or -v",
      entry.name, list);
}

// The run the user asked for, with what the entry says filling in every flag the user did not give.
// Fails, before anything is pulled or booted, listing the required env vars and secrets not given.
RunOptions apply_registry_entry(RunOptions o, const registry::RegistryEntry& entry) {
  std::cerr << fmt::format("{}: {} from registry {}\n", entry.name, entry.image, entry.source);
  registry::RunPlanInput input;
  input.env_given = env_names_given(o);
  for (const auto& ref : secret_refs(o.secrets)) input.secret_targets.insert(ref.target);
  input.secret_available = secret_availability();
  registry::RunPlan plan = registry::plan_env(entry, input);
  if (!plan.missing.empty()) fail("{}", registry::missing_env_message(entry, plan));
  o.image = entry.image;
  if (o.transport.empty()) {
    o.transport = entry.transport;
    if (!o.target_port && entry.transport != "stdio") o.target_port = entry.target_port;
  }
  if (o.args.empty() && !o.entrypoint) o.args = entry.args;
  if (o.net.permission_profile.empty() && entry.permissions) {
    check_registry_mounts(entry, *entry.permissions, o.accept_mounts);
    o.net.profile_document = *entry.permissions;
  }
  o.env.insert(o.env.begin(), plan.env_defaults.begin(), plan.env_defaults.end());
  for (const auto& s : plan.secrets) o.secrets.push_back(s.secret + ",target=" + s.target);
  if (o.name.empty() && !o.foreground) o.name = default_vm_name(entry);
  return o;
}

// X of `run X` as an image reference, or a registry entry applied (cli/run_image.h has the rules).
RunOptions resolve_image_or_name(const RunOptions& o) {
  if (!o.rootfs.empty() || is_image_reference(o.image)) return o;
  if (auto entry = find_registry_entry(o.image)) return apply_registry_entry(o, *entry);
  return o;
}

runner::RunConfig build_run_config(const RunOptions& given) {
  config_from_flags(given);  // every flag, before any registry, store or network is asked
  const RunOptions o = resolve_image_or_name(given);
  runner::RunConfig c = config_from_flags(o);
  hint_credential_env(given.env);
  std::vector<std::string> env_files;
  for (const auto& f : o.env_files)
    env_files.push_back(with_context("--env-file", [&] { return read_file(f, 1 << 20); }));
  c.process.runtime_env = vm::runtime_env(env_files, o.env, vm::process_env());
  c.mcp.target_port = resolve_target_port(c.mcp, c.process.runtime_env);
  c.process.transport_env = transport_env(c.mcp);

  auto [rootfs, image] = locate_image(o);
  c.machine.kernel =
      vm::find_kernel(o.kernel.empty() ? std::nullopt : std::optional<std::filesystem::path>(o.kernel));
  c.machine.accel = vm::choose_accel(c.machine.kernel, c.machine.qemu_binary);
  c.machine.rootfs = rootfs;
  c.timeouts.boot = boot_timeout(c.machine.accel);
  c.process.argv = vm::resolve_command(image.entrypoint, image.cmd, o.entrypoint, o.args);
  c.process.image_env = image.env;
  c.process.workdir = image.working_dir;
  c.process.user = image.user;
  return c;
}

// Detached: a runner process owns the VM; returns once the server answered MCP initialize.
int run_detached(const RunOptions& o) {
  runner::RunConfig config = build_run_config(o);
  if (config.mcp.auth == runner::EndpointAuth::none)
    std::cerr << "warning: --endpoint-auth none: any local user or process can call this server's tools "
                 "through its endpoint\n";
  const runner::EndpointAuth auth = config.mcp.auth;
  auto launched = runner::launch_vm(std::move(config));
  // stdout stays "NAME  URL" for scripts; the sentence for people goes to stderr.
  const std::string& url = launched.state.endpoint;
  std::cout << launched.name << (url.empty() ? "" : "  " + url) << std::endl;
  for (const auto& id : o.register_with) {  // the VM runs now: a failure here is reported, not fatal
    try {
      register_with_client(*mcp::find_mcp_client(id), launched.name);
      std::cerr << fmt::format("{}: registered with {} ({})\n", launched.name, id,
                               client_config_file(*mcp::find_mcp_client(id)).string());
    } catch (const Error& e) {
      std::cerr << fmt::format("warning: {}: not registered with {}: {}\n", launched.name, id, e.what());
    }
  }
  if (auto endpoint = mcp::parse_endpoint_url(url))
    std::cerr << fmt::format("{}: everything is ready: {} (streamable HTTP), {} (SSE){}\n", launched.name,
                             endpoint->streamable_http(), endpoint->sse(),
                             auth == runner::EndpointAuth::bearer
                                 ? fmt::format("; clients need its bearer token (mcpvm inspect {}), or use "
                                               "mcpvm proxy stdio {}",
                                               launched.name, launched.name)
                                 : "");
  return 0;
}

int run_foreground(const RunOptions& o) {
  runner::RunConfig config = build_run_config(o);
  std::vector<std::string> secret_env = foreground_secrets(config);
  vm::VmSpec spec = runner::vm_spec(config);

  // The console log stays only when something went wrong (messages point at it). Not under vms/: `ls`
  // does not list foreground runs (see foreground_dir.h).
  ForegroundDir run_dir;
  spec.console_log =
      o.console_log.empty() ? run_dir.path() / "console.log" : std::filesystem::path(o.console_log);
  runner::LogPump console(spec.console_log);  // capped and rotated, as a detached VM's (runs may last days)
  spec.console_fd = console.vm_side();
  spec.owner_tag = run_dir.path().string() + "/";

  // Declared before the VM so it outlives it (the stack's thread relays QEMU's frames).
  std::unique_ptr<net::UserNetwork> network;
  UniqueFd frames;
  if (config.network.enabled) {
    network = std::make_unique<net::UserNetwork>(
        net::user_network_config(config.network));  // throws if -p can't bind
    frames = network->take_guest_fd();
    spec.network_fd = frames.get();
    spec.guest.network = net::guest_network_config(config.network, spec.guest.hostname);
  }
  vm::Vm machine = vm::Vm::start(spec);
  send_secrets(machine, secret_env);
  frames.reset();  // QEMU holds its own copy now
  vm::AttachOptions attach;
  attach.stop_timeout = config.timeouts.stop;
  attach.boot_timeout = spec.boot_timeout;
  int code = vm::run_attached(machine, attach);
  run_dir.remove();
  return code;
}

const Command kRun{
    "run", "Run an image's command in a microVM", 30, [](CLI::App& app) {
      auto o = std::make_shared<RunOptions>();
      app.add_flag("--foreground", o->foreground, "Attach the terminal to the command's stdin/stdout/stderr");
      app.add_option("--entrypoint", o->entrypoint, "Replace the image's Entrypoint (and drop its Cmd)");
      app.add_option("-e,--env", o->env,
                     "Set an environment variable (NAME=VALUE, or NAME to pass the host's)");
      app.add_option("--env-file", o->env_files, "Read environment variables from a file (NAME=VALUE lines)");
      app.add_option("--secret", o->secrets,
                     "Give the server a secret as NAME,target=ENV (from MCPVM_SECRET_<NAME>, else the store; "
                     "`mcpvm secret set NAME`), repeatable");
      app.add_option("--cpus", o->cpus, "Virtual CPUs")->capture_default_str();
      app.add_option("--memory", o->memory_mib, "Memory in MiB")->capture_default_str();
      app.add_option("--stop-timeout", o->stop_timeout_s,
                     "Seconds between SIGTERM to the server and power-off, on Ctrl-C (--foreground) "
                     "or a termination signal to a detached VM's runner")
          ->capture_default_str();
      app.add_option("--kernel", o->kernel,
                     "Guest kernel (vmlinux or bzImage); default: the cached Debian kernel");
      app.add_option("--rootfs", o->rootfs)->group("");              // development: boot this squashfs
      app.add_option("--image-config", o->image_config)->group("");  // development: its config JSON
      app.add_option("--console-log", o->console_log)->group("");    // keep the kernel console here
      app.add_option("--name", o->name, "Name of the VM (detached; default: a generated one)");
      app.add_flag("--rm", o->remove, "Remove the VM when it ends (detached)");
      app.add_option("--restart", o->restart, "Restart policy: no, on-failure[:N], always (detached)")
          ->capture_default_str();
      app.add_option("--ready-timeout", o->ready_timeout,
                     "How long to wait for the server to be ready (detached)")
          ->capture_default_str();
      app.add_option(
             "--transport", o->transport,
             "The server's MCP transport: stdio, sse or streamable-http (default: the registry entry's, "
             "else stdio)")
          ->check(CLI::IsMember({"stdio", "sse", "streamable-http"}));
      app.add_flag("--accept-mounts", o->accept_mounts,
                   "Share the host paths a registry entry's permission profile names (listed by `mcpvm "
                   "registry info NAME`); without it such an entry is refused");
      app.add_option("--pull", o->pull,
                     "Pull the image: missing (when not in the store), always, or never (docker's policies)")
          ->check(CLI::IsMember({"missing", "always", "never"}))
          ->capture_default_str();
      app.add_option("--target-port", o->target_port,
                     "Port the HTTP server listens on in the guest (default: -e MCP_PORT, else 8080)")
          ->check(CLI::Range(1, 65535));
      app.add_option("--proxy-port", o->proxy_port,
                     "Port of the MCP endpoint on 127.0.0.1 (default: a free one)")
          ->check(CLI::Range(1, 65535));
      app.add_option("--endpoint-auth", o->endpoint_auth,
                     "Who may use the MCP endpoint: bearer (clients send the VM's token, shown by inspect) "
                     "or none (any local process)")
          ->check(CLI::IsMember({"bearer", "none"}))
          ->capture_default_str();
      app.add_option(
          "--tools", o->tools,
          "Only these tools (comma-separated, names as clients see them) are listed and callable; a "
          "call to another is refused without reaching the server");
      app.add_option("--tools-override", o->tools_override,
                     "JSON file renaming or redescribing tools (ToolHive's format: "
                     "{\"toolsOverride\": {\"NAME\": {\"name\": \"...\", \"description\": \"...\"}}})");
      app.add_option("--register", o->register_with,
                     "Once it runs, add the VM to this MCP client's configuration file (mcpvm client ls; "
                     "rm takes it out again)");
      app.add_flag("--audit-args", o->audit_args,
                   "Also record tool and prompt arguments in the audit log (mcpvm logs --audit NAME)");
      add_network_flags(app, o->net);
      app.add_option(
          "-v,--volume", o->volumes,
          "Share a host directory: PATH, HOST:GUEST or HOST:GUEST:ro (read-only, enforced by the host)");
      app.add_option("image", o->image,
                     "Image reference or digest, or a server's name in a configured registry (mcpvm search)")
          ->required();
      app.add_option("args", o->args, "Arguments replacing the image's Cmd (after --)");
      app.footer(
          "IMAGE is an image reference when it has ':' or '@' or is in the local store; else a server name\n"
          "from the configured registries (its image, transport, port, args, env and permission profile;\n"
          "flags given here win); else a reference to pull.\n"
          "Examples:\n"
          "  mcpvm run --foreground busybox:1 -- echo hello\n"
          "  mcpvm run fetch    (a server's name in a configured registry: mcpvm search fetch)\n"
          "  mcpvm run --foreground -e TOKEN=x --memory 1024 mcp/fetch:1\n"
          "  mcpvm run --secret github,target=GITHUB_PERSONAL_ACCESS_TOKEN mcp/github:1\n"
          "  mcpvm run -v ~/notes:/data:ro -v ./out:/out mcp/filesystem:1 -- /data /out\n"
          "Environment: MCPVM_ACCEL=auto|kvm|tcg, MCPVM_KERNEL, MCPVM_BOOT_TIMEOUT (seconds), "
          "MCPVM_KERNEL_APPEND (extra kernel command-line words, for debugging), MCPVM_TCG_TB_MIB (cap on "
          "TCG's code cache: less memory per VM, slower JIT-heavy servers), MCPVM_QEMU (the QEMU binary).");
      return [o]() -> int { return o->foreground ? run_foreground(*o) : run_detached(*o); };
    }};

}  // namespace
}  // namespace mcpvm::cli
