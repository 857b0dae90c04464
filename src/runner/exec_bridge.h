// The runner's half of `mcpvm exec`: one control connection ({"op":"exec",...}, see runner/control.h)
// bridged to one exec session of the VM's ExecMux.
#pragma once

#include <nlohmann/json.hpp>

#include "guest/exec_protocol.h"
#include "runner/control.h"
#include "vm/exec_mux.h"

namespace mcpvm::runner {

// The ExecStart of an exec request; throws Error ("exec: ...") when the request is malformed.
guest::ExecStart exec_start_from_request(const nlohmann::json& request);

// Opens the session, answers {"ok":true}, then relays until the process exited (its exit is the last
// line sent), the VM stopped ({"ok":false,"error":...}) or the client went away (the process is killed).
// Throws Error for a bad request or a closed mux (the caller answers {"ok":false}).
// secret_env ("TARGET=value", for `exec --secret-env`) goes on top of the request's env and is wiped.
void bridge_exec(ControlChannel& channel, const nlohmann::json& request, vm::ExecMux& mux,
                 std::vector<std::string> secret_env = {});

}  // namespace mcpvm::runner
