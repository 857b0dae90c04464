// What mcpvm knows about one VM, on disk under $MCPVM_HOME/vms/NAME (0700):
//   config.json   the saved run request (runner/run_config.h), so `start` can boot it again, even after a
//                 host reboot
//   state.json    status, pids + start times of the runner and QEMU, endpoint, exit code, timestamps
//                 (VmState below, schema kVmStateSchema)
//   control.sock  the runner's control socket (0600)
//   runner.lock   flock held by the live runner for its whole life
//   logs/         server.log (server stderr), console.log (guest console), runner.log — capped, rotated
// Both files are written atomically (temp + fsync + rename). The runner writes state.json while it lives;
// the CLI writes it only when it has proven the runner dead (runner.lock is free).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/identity.h"
#include "runner/run_config.h"

namespace mcpvm::runner {

enum class Status { created, starting, running, restarting, stopping, stopped, exited, error, unhealthy };

std::string_view to_string(Status s);
Status parse_status(std::string_view s);  // throws Error for unknown names
bool is_active(Status s);                 // starting, running, restarting, stopping: a runner should exist

// state.json's schema. Files without schema_version (mcpvm 0.1) have the same fields: version 1.
inline constexpr int kVmStateSchema = 1;

struct VmState {
  std::string name;
  std::string image;
  std::string image_digest;
  Status status = Status::created;
  std::optional<int> exit_code;  // the server's, of the last run
  std::string message;           // why it is in error/unhealthy, or the last failure
  ProcessIdentity runner;
  ProcessIdentity qemu;
  std::string boot_id;   // the boot the pids belong to
  std::string endpoint;  // http://127.0.0.1:PORT/mcp once the MCP endpoint is up
  int64_t created_at = 0, started_at = 0, finished_at = 0;  // unix seconds; 0 = never
  int restart_count = 0;
};

nlohmann::json to_json(const VmState& s);
VmState vm_state_from_json(const nlohmann::json& j);  // throws Error naming the bad field or a newer schema

// Parses state.json text; a truncated or corrupt file throws an Error that says so and how to recover.
VmState parse_vm_state(std::string_view text);

// What is actually running, as observed now.
struct Observed {
  bool runner_alive = false;
  bool qemu_alive = false;
  bool same_boot = true;
};

// The status `ls` shows: the recorded status corrected by reality. `note` explains a correction.
struct Reconciled {
  Status status;
  std::string note;
};
Reconciled reconcile(const VmState& s, const Observed& o);

// Observes the processes a state names (pid + start time; boot id).
Observed observe(const VmState& s);

// The per-VM directory.
class VmDir {
 public:
  explicit VmDir(std::filesystem::path root) : root_(std::move(root)) {}
  // $MCPVM_HOME/vms/NAME (the name is validated).
  static VmDir for_name(std::string_view name);
  static std::filesystem::path vms_root();
  // Claims the name by creating the directory (mkdir is atomic: of two concurrent claims exactly one
  // succeeds). Throws "name already in use" otherwise.
  static VmDir create(std::string_view name);
  // All VM names with a directory, sorted.
  static std::vector<std::string> list_names();

  const std::filesystem::path& root() const { return root_; }
  std::string name() const { return root_.filename().string(); }
  std::filesystem::path state_path() const { return root_ / "state.json"; }
  std::filesystem::path config_path() const { return root_ / "config.json"; }
  std::filesystem::path control_socket() const { return root_ / "control.sock"; }
  std::filesystem::path endpoint_token_file() const { return root_ / "endpoint-token"; }  // 0600
  // HTTP servers: the runner's forward to the server's port in the guest (net::PortForward).
  std::filesystem::path upstream_socket() const { return root_ / "upstream.sock"; }
  std::filesystem::path runner_lock() const { return root_ / "runner.lock"; }
  std::filesystem::path state_lock() const { return root_ / "state.lock"; }
  std::filesystem::path logs_dir() const { return root_ / "logs"; }
  std::filesystem::path server_log() const { return logs_dir() / "server.log"; }
  std::filesystem::path console_log() const { return logs_dir() / "console.log"; }
  std::filesystem::path runner_log() const { return logs_dir() / "runner.log"; }
  std::filesystem::path audit_log() const { return logs_dir() / "audit.log"; }
  bool exists() const;

  VmState load_state() const;  // throws (clear message) when missing or corrupt
  void save_state(const VmState& s) const;
  RunConfig load_config() const;
  void save_config(const RunConfig& c) const;

  // True while some runner holds runner.lock (works even when state.json is corrupt).
  bool runner_holds_lock() const;

  // Removes the whole directory.
  void remove() const;

 private:
  std::filesystem::path root_;
};

int64_t unix_now();

}  // namespace mcpvm::runner
