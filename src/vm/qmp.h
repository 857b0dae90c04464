// A minimal synchronous client of QEMU's machine protocol (QMP) over a connected stream socket
// (`-chardev socket,id=qmp,fd=N -mon chardev=qmp,mode=control`): enough to stop a VM, save it to a file
// and restore it (vm/template.h, vm/restore.h). One owner, one thread; not thread-safe.
//
// Wire (QEMU docs/interop/qmp-spec): QEMU greets with {"QMP": {...}}; every message is one JSON object
// ended by CRLF; a command {"execute": C, "arguments": {...}} is answered by {"return": ...} or
// {"error": {"class", "desc"}}; {"event": ...} messages may arrive at any time and are skipped here.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "util/fd.h"

namespace mcpvm::vm {

class QmpClient {
 public:
  // Reads the greeting and enters command mode (qmp_capabilities). Throws Error.
  QmpClient(UniqueFd socket, std::chrono::milliseconds timeout);

  // Runs one command and returns its "return" value. Throws Error("QMP C: desc") on an error reply, a
  // closed socket, a malformed message, or no answer within `timeout`.
  nlohmann::json execute(const std::string& command, const nlohmann::json& arguments = nullptr,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Polls query-migrate until the migration (either direction) is "completed"; throws Error when it
  // reports "failed"/"cancelled" (with QEMU's error-desc) or the deadline passes.
  void wait_for_migration(std::chrono::milliseconds timeout);

 private:
  nlohmann::json read_message(std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  std::string buffer_;
};

}  // namespace mcpvm::vm
