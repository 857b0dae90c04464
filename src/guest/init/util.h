// Small helpers for the guest init: errors that carry the exit code the host should report, console
// logging, pipes. The init does not link mcpvm_util (it must stay a lean static binary); it shares the
// header-only UniqueFd (util/fd.h) with the host.
#pragma once

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "util/fd.h"

namespace mcpvm::guest {

// A failure before the server runs. `code` follows docker: 126 cannot start, 127 command not found.
class SetupError : public std::runtime_error {
 public:
  SetupError(std::string message, int code = 126) : std::runtime_error(std::move(message)), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// "<what>: <strerror(errno)>" as a SetupError.
[[noreturn]] void fail_sys(const std::string& what);

// One line on the console (the host's console log).
void console(std::string_view message);

// "<phase> at <uptime> s (idle <s> s)": one console line per boot phase, so `mcpvm logs --console NAME`
// shows where a slow boot spends its time and whether a phase computes or waits (only waiting can be
// overlapped with other work). A few dozen bytes: negligible even on an emulated serial port.
void console_phase(const std::string& phase);

// A pipe (close-on-exec ends).
struct Pipe {
  UniqueFd read, write;
};
Pipe make_pipe();

void set_nonblocking(int fd);

std::string read_whole_file(const std::string& path);

// Writes everything, waiting (poll) while a non-blocking fd is full. Returns false on a write error.
bool write_fully(int fd, std::string_view data);

}  // namespace mcpvm::guest
