// Error handling convention (see docs/ARCHITECTURE.md): mcpvm reports failures with exceptions.
// Every failure the user can see is an mcpvm::Error whose message reads as one actionable line,
// built outside-in: "pulling 127.0.0.1:5000/x:1: layer sha256:ab…: does not match its digest".
// Lower layers say what failed; callers add what they were doing with add_context().
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

namespace mcpvm {

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message) : std::runtime_error(message), message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

  // Prefixes "context: " to the message; used while the exception unwinds through callers.
  void add_context(std::string_view context) { message_ = fmt::format("{}: {}", context, message_); }

 private:
  std::string message_;
};

// Throws an Error formatted with fmt.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Throws an Error for a failed system call: "<what>: <strerror(errno)>". Reads errno at call time.
template <typename... Args>
[[noreturn]] void fail_errno(fmt::format_string<Args...> format, Args&&... args) {
  int saved = errno;
  throw Error(fmt::format("{}: {}", fmt::format(format, std::forward<Args>(args)...), std::strerror(saved)));
}

// Runs fn(); any mcpvm::Error escaping it gets "context: " prefixed.
template <typename Fn>
decltype(auto) with_context(std::string_view context, Fn&& fn) {
  try {
    return std::forward<Fn>(fn)();
  } catch (Error& e) {
    e.add_context(context);
    throw;
  }
}

}  // namespace mcpvm
