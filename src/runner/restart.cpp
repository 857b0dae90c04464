#include "runner/restart.h"

#include <charconv>

#include "util/error.h"

namespace mcpvm::runner {

RestartPolicy RestartPolicy::parse(std::string_view text) {
  RestartPolicy p;
  if (text == "no" || text.empty()) return p;
  if (text == "always") {
    p.kind = Kind::always;
    return p;
  }
  constexpr std::string_view kOnFailure = "on-failure";
  if (text.substr(0, kOnFailure.size()) == kOnFailure) {
    p.kind = Kind::on_failure;
    std::string_view rest = text.substr(kOnFailure.size());
    if (rest.empty()) return p;
    if (rest.front() == ':') {
      rest.remove_prefix(1);
      int n = -1;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (ec == std::errc() && ptr == rest.data() + rest.size() && n >= 0 && n <= 1000) {
        p.max_retries = n;
        return p;
      }
    }
  }
  fail("invalid restart policy \"{}\": use no, on-failure, on-failure:N (0-1000) or always", text);
}

std::string RestartPolicy::to_string() const {
  switch (kind) {
    case Kind::no:
      return "no";
    case Kind::always:
      return "always";
    case Kind::on_failure:
      return max_retries == 10 ? "on-failure" : fmt::format("on-failure:{}", max_retries);
  }
  return "no";
}

bool RestartPolicy::wants_restart(std::optional<int> exit_code, bool stopped_by_user) const {
  if (stopped_by_user) return false;
  switch (kind) {
    case Kind::no:
      return false;
    case Kind::always:
      return true;
    case Kind::on_failure:
      return !exit_code || *exit_code != 0;
  }
  return false;
}

std::optional<std::chrono::milliseconds> RestartTracker::on_exit(std::optional<int> exit_code,
                                                                 std::chrono::milliseconds uptime,
                                                                 bool stopped_by_user) {
  if (!policy_.wants_restart(exit_code, stopped_by_user)) return std::nullopt;
  if (uptime >= settings_.reset_after) {
    consecutive_ = 0;
    backoff_.reset();
  }
  if (policy_.kind == RestartPolicy::Kind::on_failure && consecutive_ >= policy_.max_retries)
    return std::nullopt;
  ++consecutive_;
  ++total_restarts_;
  return backoff_.next();
}

}  // namespace mcpvm::runner
