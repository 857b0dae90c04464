// Exponential backoff, the one implementation every retry and wait loop uses: the first delay is
// `initial`, each next one doubles, up to `cap`. Backoff is header-only so the guest init (which links
// no host library) uses it too.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>

namespace mcpvm {

class Backoff {
 public:
  using ms = std::chrono::milliseconds;
  Backoff(ms initial, ms cap) : initial_(initial), cap_(cap), next_(initial) {}

  // The delay to wait now; the one after it doubles (capped).
  ms next() {
    ms now = next_;
    next_ = std::min(next_ * 2, cap_);
    return now;
  }
  void reset() { next_ = initial_; }

 private:
  ms initial_, cap_, next_;
};

// Calls attempt() until it returns true (-> true), `deadline` passes or cancelled() turns true (-> false),
// waiting with `backoff` in between. cancelled (may be empty) is checked at least every 20 ms while waiting.
bool retry_with_backoff(const std::function<bool()>& attempt, std::chrono::steady_clock::time_point deadline,
                        Backoff backoff, const std::function<bool()>& cancelled = {});

}  // namespace mcpvm
