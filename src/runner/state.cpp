#include "runner/state.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>

#include "runner/names.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/home.h"
#include "util/json_fields.h"

namespace mcpvm::runner {

using nlohmann::json;

namespace {

constexpr std::array kStatusNames = {"created", "starting", "running", "restarting", "stopping",
                                     "stopped", "exited",   "error",   "unhealthy"};

json identity_json(const ProcessIdentity& id) {
  if (id.empty()) return nullptr;
  return {{"pid", id.pid}, {"start_time", id.start_time}};
}

ProcessIdentity identity_from(JsonFields& state, const char* name) {
  if (!state.has(name)) return {};
  JsonFields f = state.object(name);
  return {f.get<int>("pid", 0), f.get<uint64_t>("start_time", 0)};  // a negative pid is refused by the caller
}

}  // namespace

std::string_view to_string(Status s) {
  return kStatusNames[size_t(s)];
}

Status parse_status(std::string_view s) {
  for (size_t i = 0; i < kStatusNames.size(); ++i)
    if (s == kStatusNames[i]) return Status(i);
  fail("unknown status \"{}\"", s);
}

bool is_active(Status s) {
  return s == Status::starting || s == Status::running || s == Status::restarting || s == Status::stopping;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json to_json(const VmState& s) {
  return {{"schema_version", kVmStateSchema},
          {"name", s.name},
          {"image", s.image},
          {"image_digest", s.image_digest},
          {"status", to_string(s.status)},
          {"exit_code", s.exit_code ? json(*s.exit_code) : json(nullptr)},
          {"message", s.message},
          {"runner", identity_json(s.runner)},
          {"qemu", identity_json(s.qemu)},
          {"boot_id", s.boot_id},
          {"endpoint", s.endpoint},
          {"created_at", s.created_at},
          {"started_at", s.started_at},
          {"finished_at", s.finished_at},
          {"restart_count", s.restart_count}};
}

// Read as state.json was always written, field by field with defaults; keys it does not know are left
// alone (state.json is the runner's own file, read by older and newer CLIs alike).
VmState vm_state_from_json(const json& j) {
  JsonFields f(j, "");
  if (int version = f.get<int>("schema_version", 1); version != kVmStateSchema)
    fail("schema_version {} is not {} (written by {} mcpvm)", version, kVmStateSchema,
         version > kVmStateSchema ? "a newer" : "an unknown");
  VmState s;
  s.name = f.get<std::string>("name", "");
  s.image = f.get<std::string>("image", "");
  s.image_digest = f.get<std::string>("image_digest", "");
  s.status = parse_status(f.get<std::string>("status", ""));
  if (f.has("exit_code")) s.exit_code = f.required<int>("exit_code");
  s.message = f.get<std::string>("message", "");
  s.runner = identity_from(f, "runner");
  s.qemu = identity_from(f, "qemu");
  if (s.runner.pid < 0 || s.qemu.pid < 0) fail("a pid is negative");
  s.boot_id = f.get<std::string>("boot_id", "");
  s.endpoint = f.get<std::string>("endpoint", "");
  s.created_at = f.get<int64_t>("created_at", 0);
  s.started_at = f.get<int64_t>("started_at", 0);
  s.finished_at = f.get<int64_t>("finished_at", 0);
  s.restart_count = f.get<int>("restart_count", 0);
  return s;
}

VmState parse_vm_state(std::string_view text) {
  if (text.empty()) fail("state.json is empty (truncated by a crash?); `mcpvm rm -f` removes the VM");
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    fail("state.json is not valid JSON (truncated or corrupt); `mcpvm rm -f` removes the VM");
  return with_context("state.json", [&] {
    try {
      return vm_state_from_json(j);
    } catch (Error& e) {
      e.add_context("corrupt (`mcpvm rm -f` removes the VM)");
      throw;
    }
  });
}

Reconciled reconcile(const VmState& s, const Observed& o) {
  bool recorded_live = is_active(s.status) || s.status == Status::unhealthy;
  if (!o.same_boot) {
    if (recorded_live) return {Status::stopped, "the host restarted since this VM ran"};
    return {s.status, ""};
  }
  if (o.runner_alive && o.qemu_alive) return {s.status == Status::unhealthy ? Status::running : s.status, ""};
  if (o.runner_alive) {
    // Between runs (starting, restarting) the runner legitimately has no QEMU.
    if (s.status == Status::running && !s.qemu.empty())
      return {Status::unhealthy, "the runner is alive but its QEMU is gone"};
    return {s.status, ""};
  }
  if (o.qemu_alive)
    return {Status::unhealthy, fmt::format("the runner is gone; QEMU (pid {}) is orphaned", s.qemu.pid)};
  if (recorded_live) return {Status::error, "the runner died without recording how the VM ended (killed?)"};
  return {s.status, ""};
}

Observed observe(const VmState& s) {
  Observed o;
  std::string boot = current_boot_id();
  o.same_boot = s.boot_id.empty() || boot.empty() || s.boot_id == boot;
  if (!o.same_boot) return o;
  o.runner_alive = is_alive(s.runner);
  o.qemu_alive = is_alive(s.qemu);
  return o;
}

fs::path VmDir::vms_root() {
  return mcpvm_home() / "vms";
}

VmDir VmDir::for_name(std::string_view name) {
  check_vm_name(name);
  VmDir dir(vms_root() / std::string(name));
  check_private_dir(dir.root_);  // another user able to write here could plant a config or a socket
  return dir;
}

VmDir VmDir::create(std::string_view name) {
  VmDir dir = for_name(name);
  make_private_dirs(vms_root());
  if (::mkdir(dir.root_.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      fail(
          "the name \"{}\" is already in use by a VM: pick another --name or remove it with `mcpvm rm -f {}`",
          name, name);
    fail_errno("creating {}", dir.root_.string());
  }
  make_private_dirs(dir.logs_dir());
  return dir;
}

std::vector<std::string> VmDir::list_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(vms_root(), ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (is_valid_vm_name(n) && it->is_directory(ec)) names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool VmDir::exists() const {
  std::error_code ec;
  return fs::is_directory(root_, ec);
}

VmState VmDir::load_state() const {
  if (!exists()) fail("no such VM: {}", name());
  std::string text;
  try {
    text = read_file(state_path(), 1 << 20);
  } catch (Error& e) {
    e.add_context(fmt::format("VM {} has no readable state (`mcpvm rm -f {}` removes it)", name(), name()));
    throw;
  }
  return with_context(fmt::format("VM {}", name()), [&] { return parse_vm_state(text); });
}

void VmDir::save_state(const VmState& s) const {
  with_context(fmt::format("saving the state of VM {}", name()),
               [&] { write_file_atomic(state_path(), to_json(s).dump(2) + "\n"); });
}

RunConfig VmDir::load_config() const {
  return with_context(fmt::format("VM {}: config.json", name()), [&] {
    std::string text = read_file(config_path(), 4 << 20);
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded()) fail("not valid JSON (truncated or corrupt)");
    return parse_run_config(j);
  });
}

void VmDir::save_config(const RunConfig& c) const {
  with_context(fmt::format("saving the config of VM {}", name()),
               [&] { write_file_atomic(config_path(), to_json(c).dump(2) + "\n"); });
}

bool VmDir::runner_holds_lock() const {
  if (!exists()) return false;
  return !FileLock::try_lock(runner_lock()).locked();
}

void VmDir::remove() const {
  std::error_code ec;
  fs::remove_all(root_, ec);
  if (ec) fail("removing {}: {}", root_.string(), ec.message());
}

}  // namespace mcpvm::runner
