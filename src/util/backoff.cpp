#include "util/backoff.h"

#include <thread>

namespace mcpvm {

bool retry_with_backoff(const std::function<bool()>& attempt, std::chrono::steady_clock::time_point deadline,
                        Backoff backoff, const std::function<bool()>& cancelled) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kCancelCheck = std::chrono::milliseconds(20);
  for (;;) {
    if (cancelled && cancelled()) return false;
    if (attempt()) return true;
    auto now = Clock::now();
    if (now >= deadline) return false;
    auto wake = std::min(now + backoff.next(), deadline);
    while (Clock::now() < wake) {
      if (cancelled && cancelled()) return false;
      std::this_thread::sleep_for(std::min<Clock::duration>(kCancelCheck, wake - Clock::now()));
    }
  }
}

}  // namespace mcpvm
