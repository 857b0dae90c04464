// The VM's configuration as the guest init reads it from /mcpvm/config.json in the initramfs. The host
// writes it (vm/initramfs), the guest parses it (mcpvm-init); this header is the contract.
//
// Everything per-VM lives here, never in the shared squashfs of the image.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mcpvm::guest {

inline constexpr const char* kConfigPath = "/mcpvm/config.json";
// Kernel modules are stored flat under this directory of the initramfs, loaded in config order.
inline constexpr const char* kModulesDir = "/mcpvm/modules";

// A host directory shared over virtio-9p, mounted by the init after the image root (vm/volume.h).
struct GuestMount {
  std::string tag;   // the 9p mount tag (the "device" of mount(2))
  std::string path;  // absolute, normalised by the host; created in the overlay if missing
  bool read_only = false;
  std::string options;        // the mount data ("trans=virtio,...")
  std::string fstype = "9p";  // (bench/volume mounts virtiofs through the same path)
};

inline void to_json(nlohmann::json& j, const GuestMount& m) {
  j = nlohmann::json{{"tag", m.tag},
                     {"path", m.path},
                     {"read_only", m.read_only},
                     {"options", m.options},
                     {"fstype", m.fstype}};
}

inline void from_json(const nlohmann::json& j, GuestMount& m) {
  m.tag = j.at("tag").get<std::string>();
  m.path = j.at("path").get<std::string>();
  m.read_only = j.at("read_only").get<bool>();
  m.options = j.at("options").get<std::string>();
  m.fstype = j.value("fstype", std::string("9p"));
}

struct GuestConfig {
  // The server's command line, already resolved from Entrypoint + Cmd (+ --entrypoint, ARGS).
  std::vector<std::string> argv;
  // Environment layers, lowest precedence first: image Env, transport, runtime -e/--env-file.
  // Each entry is "KEY=VALUE" (a bare "KEY" is ignored). The init merges them (see env.h).
  std::vector<std::vector<std::string>> env_layers;
  std::string workdir;  // empty: "/" (as docker does)
  std::string user;     // OCI User: "", "name", "uid", "name:group", "uid:gid", ...
  std::string hostname = "mcpvm";
  // Kernel module file names (in kModulesDir), in load order (dependencies first).
  std::vector<std::string> modules;
  // The image's read-only rootfs: a squashfs on this block device, with an overlay on a tmpfs upper.
  std::string root_device = "/dev/vda";
  std::string root_fstype = "squashfs";
  uint32_t overlay_size_mib = 256;
  // How long the init waits for the server's output after it exited before killing leftovers, and
  // for the host's Shutdown after Exit.
  uint32_t drain_timeout_ms = 5000;
  // Set when the VM only checks that the kernel boots (acceleration probe): the init powers off at once.
  bool probe = false;
  // Set only in a warm-start template's initramfs (docs/warm-start.md): once its modules are loaded and
  // the ports open, the init sends Configurable and waits for Configure (guest/configure_message.h), whose
  // config replaces this one. Everything that identifies a VM arrives that way, after the snapshot.
  bool template_wait = false;
  // How many secret env entries the host sends in a Secrets control message (guest/protocol.h) right
  // after the ctl port is up. Non-zero: the init waits for them before it execs the server and puts them
  // on top of every env layer. The values themselves are never here (this file is in the initramfs).
  uint32_t secret_count = 0;
  // The network configuration for guest/net (absent: no network).
  nlohmann::json network;
  // Volumes, in mount order (parents first).
  std::vector<GuestMount> mounts;
};

inline void to_json(nlohmann::json& j, const GuestConfig& c) {
  j = nlohmann::json{{"argv", c.argv},
                     {"env_layers", c.env_layers},
                     {"workdir", c.workdir},
                     {"user", c.user},
                     {"hostname", c.hostname},
                     {"modules", c.modules},
                     {"root_device", c.root_device},
                     {"root_fstype", c.root_fstype},
                     {"overlay_size_mib", c.overlay_size_mib},
                     {"drain_timeout_ms", c.drain_timeout_ms},
                     {"probe", c.probe},
                     {"secret_count", c.secret_count}};
  if (c.template_wait) j["template_wait"] = true;
  if (!c.network.is_null()) j["network"] = c.network;
  if (!c.mounts.empty()) j["mounts"] = c.mounts;
}

inline void from_json(const nlohmann::json& j, GuestConfig& c) {
  GuestConfig d;
  c.argv = j.value("argv", d.argv);
  c.env_layers = j.value("env_layers", d.env_layers);
  c.workdir = j.value("workdir", d.workdir);
  c.user = j.value("user", d.user);
  c.hostname = j.value("hostname", d.hostname);
  c.modules = j.value("modules", d.modules);
  c.root_device = j.value("root_device", d.root_device);
  c.root_fstype = j.value("root_fstype", d.root_fstype);
  c.overlay_size_mib = j.value("overlay_size_mib", d.overlay_size_mib);
  c.drain_timeout_ms = j.value("drain_timeout_ms", d.drain_timeout_ms);
  c.probe = j.value("probe", d.probe);
  c.template_wait = j.value("template_wait", d.template_wait);
  c.secret_count = j.value("secret_count", d.secret_count);
  c.network = j.contains("network") ? j["network"] : nlohmann::json();
  c.mounts = j.value("mounts", d.mounts);
}

}  // namespace mcpvm::guest
