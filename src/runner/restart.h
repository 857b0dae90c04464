// Restart policies (docker's spelling: no | on-failure[:N] | always) and ToolHive's backoff: the first
// retry waits 5 s, each further one doubles up to 60 s; at most 10 retries for on-failure unless N says
// otherwise; the counter resets once a run stayed up for 30 s.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "util/backoff.h"

namespace mcpvm::runner {

struct RestartPolicy {
  enum class Kind { no, on_failure, always };
  Kind kind = Kind::no;
  int max_retries = 10;  // on-failure only; `always` retries without limit

  static RestartPolicy parse(std::string_view text);  // throws Error with the accepted forms
  std::string to_string() const;
  // Whether a run that ended with exit_code (nullopt: the VM died without reporting one) should be retried.
  bool wants_restart(std::optional<int> exit_code, bool stopped_by_user) const;
};

struct BackoffSettings {
  std::chrono::milliseconds initial{5000};
  std::chrono::milliseconds cap{60000};
  std::chrono::milliseconds reset_after{30000};
};

// Decides, run after run, whether and when to start again.
class RestartTracker {
 public:
  RestartTracker(RestartPolicy policy, BackoffSettings settings = {})
      : policy_(policy), settings_(settings), backoff_(settings.initial, settings.cap) {}

  // A run ended after `uptime`. Returns the delay before the next start, or nullopt to give up.
  std::optional<std::chrono::milliseconds> on_exit(std::optional<int> exit_code,
                                                   std::chrono::milliseconds uptime, bool stopped_by_user);
  int restarts() const { return total_restarts_; }  // restarts performed over the VM's life
  int consecutive() const { return consecutive_; }  // failures since the last reset

 private:
  RestartPolicy policy_;
  BackoffSettings settings_;
  Backoff backoff_;
  int consecutive_ = 0;
  int total_restarts_ = 0;
};

}  // namespace mcpvm::runner
