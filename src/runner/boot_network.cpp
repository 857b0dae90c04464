#include "runner/boot_network.h"

#include "runner/runner_log.h"
#include "util/error.h"
#include "util/fs.h"

namespace mcpvm::runner {

BootNetwork::BootNetwork(const net::NetworkRequest& request,
                         const std::vector<net::PortForward>& extra_forwards, std::filesystem::path record)
    : record_(std::move(record)),
      summary_(net::network_summary(request)),
      network_(std::make_unique<net::UserNetwork>(net::user_network_config(request, extra_forwards))),
      qemu_fd_(network_->take_guest_fd()) {
  save(nullptr);
  saver_ = std::thread([this] { save_while_running(); });
}

BootNetwork::~BootNetwork() {
  {
    std::lock_guard lock(mu_);
    ended_ = true;
  }
  cv_.notify_all();
  if (saver_.joinable()) saver_.join();
  save(network_->counters().to_json());
}

void BootNetwork::save(const nlohmann::json& counters) const {
  try {
    write_file_atomic(record_, nlohmann::json{{"summary", summary_}, {"counters", counters}}.dump(2) + "\n");
  } catch (const std::exception& e) {
    note("recording the network counters: {}", e.what());
  }
}

void BootNetwork::save_while_running() {
  nlohmann::json last;
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return ended_; })) {
    nlohmann::json now = network_->counters().to_json();
    if (now != last) save(now);
    last = std::move(now);
  }
}

}  // namespace mcpvm::runner
