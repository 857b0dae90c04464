// BootNetwork: the user network of one boot. It starts the libslirp stack (net::UserNetwork) for the VM's
// NetworkRequest plus the forwards the runner adds, holds QEMU's end of the stack's socket until QEMU has
// its own copy, and keeps DIR/network.json current: the policy summary and the allowed/denied counters
// (docs/net.md), saved within a second of a change and once more when the boot ends (`inspect` shows it).
//
// Thread-safety: one owner (the boot); the saver thread only reads the network's counters, which are
// thread-safe.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "net/request.h"
#include "net/user_network.h"
#include "util/fd.h"

namespace mcpvm::runner {

class BootNetwork {
 public:
  // Throws Error when the stack cannot be set up as asked (a forward's port cannot be bound, ...).
  BootNetwork(const net::NetworkRequest& request, const std::vector<net::PortForward>& extra_forwards,
              std::filesystem::path record);
  ~BootNetwork();  // stops the saver and saves the final counters
  BootNetwork(const BootNetwork&) = delete;
  BootNetwork& operator=(const BootNetwork&) = delete;

  // QEMU's end of the stack's socket (VmSpec::network_fd); release_qemu_fd() once QEMU holds a copy.
  int qemu_fd() const { return qemu_fd_.get(); }
  void release_qemu_fd() { qemu_fd_.reset(); }

 private:
  void save(const nlohmann::json& counters) const;
  void save_while_running();

  std::filesystem::path record_;
  nlohmann::json summary_;
  std::unique_ptr<net::UserNetwork> network_;
  UniqueFd qemu_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool ended_ = false;  // guarded by mu_
  std::thread saver_;
};

}  // namespace mcpvm::runner
