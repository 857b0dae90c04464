// `mcpvm run`'s network flags (spelled in net/request.h), bound to a net::NetworkFlags that
// net::build_network_request() validates and turns into the VM's NetworkRequest.
#pragma once

#include <CLI/CLI.hpp>

#include "net/request.h"

namespace mcpvm::cli {

void add_network_flags(CLI::App& app, net::NetworkFlags& flags);

}  // namespace mcpvm::cli
