// `mcpvm ls [-a] [--json]`: the VMs, their status reconciled with what actually runs (see runner/state.h).
#include <fmt/format.h>

#include <iostream>

#include "cli/command.h"
#include "cli/endpoint_info.h"
#include "runner/lifecycle.h"

namespace mcpvm::cli {
namespace {

struct LsOptions {
  bool all = false;
  bool json = false;
};

std::string ago(int64_t then) {
  int64_t d = std::max<int64_t>(0, runner::unix_now() - then);
  if (d < 60) return fmt::format("{}s", d);
  if (d < 3600) return fmt::format("{}m", d / 60);
  if (d < 86400) return fmt::format("{}h", d / 3600);
  return fmt::format("{}d", d / 86400);
}

std::string status_text(const runner::VmListing& l) {
  using runner::Status;
  Status s = l.status.status;
  if (!l.state) return std::string(runner::to_string(s));
  const auto& st = *l.state;
  switch (s) {
    case Status::running:
      return fmt::format("running ({})", ago(st.started_at));
    case Status::exited:
      return st.exit_code ? fmt::format("exited ({})", *st.exit_code) : std::string("exited");
    case Status::restarting:
      return fmt::format("restarting ({})", st.restart_count);
    default:
      return std::string(runner::to_string(s));
  }
}

nlohmann::json listing_json(const runner::VmListing& l) {
  nlohmann::json j = l.state ? runner::to_json(*l.state) : nlohmann::json{{"name", l.name}};
  j["recorded_status"] = j.value("status", "");
  j["status"] = runner::to_string(l.status.status);
  if (!l.status.note.empty()) j["note"] = l.status.note;
  auto info = endpoint_info(runner::VmDir::for_name(l.name), l.state ? l.state->endpoint : "");
  j["transport"] = info.transport;
  j["sse_endpoint"] = info.sse;
  return j;
}

bool shown(const runner::VmListing& l, bool all) {
  using runner::Status;
  return all || runner::is_active(l.status.status) || l.status.status == Status::unhealthy;
}

int run_ls(const LsOptions& o) {
  auto vms = runner::list_vms();
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& l : vms)
      if (shown(l, o.all)) out.push_back(listing_json(l));
    print_json(out);
    return 0;
  }
  std::cout << fmt::format("{:<24} {:<32} {:<18} {:<16} {}\n", "NAME", "IMAGE", "STATUS", "TRANSPORT",
                           "ENDPOINT");
  for (auto& l : vms) {
    if (!shown(l, o.all)) continue;
    std::string image = l.state ? l.state->image : "?";
    bool serving = l.status.status == runner::Status::running || l.status.status == runner::Status::starting;
    auto info = endpoint_info(runner::VmDir::for_name(l.name), l.state ? l.state->endpoint : "");
    std::string endpoint = l.state && serving ? l.state->endpoint : "";
    if (!endpoint.empty() && !info.sse.empty()) endpoint += ", " + info.sse;  // both fronts, same port
    if (!l.status.note.empty())
      endpoint += (endpoint.empty() ? "" : "  ") + std::string("(") + l.status.note + ")";
    std::cout << fmt::format("{:<24} {:<32} {:<18} {:<16} {}\n", l.name, image, status_text(l),
                             info.transport, endpoint);
  }
  return 0;
}

const Command kLs{"ls", "List VMs (running ones; -a for all)", 40, [](CLI::App& app) {
                    auto o = std::make_shared<LsOptions>();
                    app.alias("ps");
                    app.add_flag("-a,--all", o->all, "Show stopped and exited VMs too");
                    app.add_flag("--json", o->json, "Print JSON (one object per VM)");
                    return [o] { return run_ls(*o); };
                  }};

}  // namespace
}  // namespace mcpvm::cli
