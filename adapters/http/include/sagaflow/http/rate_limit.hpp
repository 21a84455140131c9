#pragma once
// At most N log lines per second, counting those held back, so that a burst (a flood of bad
// messages) cannot fill the disk or drown the other lines, and nothing goes untold: the next
// line written says how many were held back before it. Pure logic: time is an input, so a test
// drives it with a manual clock.
//
// Threading: not thread-safe; its user holds a lock around it.
#include <chrono>
#include <cstdint>

namespace sagaflow::log {

class RateLimit {
 public:
  using Time = std::chrono::steady_clock::time_point;

  struct Verdict {
    bool write = false;
    std::uint64_t suppressed = 0;  // when written: the lines held back since the last one written
  };

  // `lines` per `window`; a window starts with the first line asked for after the previous one
  // ended. 0 lines holds every line back.
  explicit RateLimit(std::uint32_t lines, std::chrono::nanoseconds window = std::chrono::seconds(1))
      : lines_(lines), window_(window) {}

  // Whether one more line may be written at `now`.
  Verdict admit(Time now) {
    if (!started_ || now - window_start_ >= window_) {
      started_ = true;
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= lines_) {
      ++suppressed_;
      return {};
    }
    ++used_;
    Verdict verdict{true, suppressed_};
    suppressed_ = 0;
    return verdict;
  }

  // Lines held back since the last one written (to say so at shutdown).
  std::uint64_t suppressed() const { return suppressed_; }

 private:
  const std::uint32_t lines_;
  const std::chrono::nanoseconds window_;
  bool started_ = false;
  Time window_start_{};
  std::uint32_t used_ = 0;
  std::uint64_t suppressed_ = 0;
};

}  // namespace sagaflow::log
