#pragma once
#include <atomic>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::testing {

// A clock that moves only when told: timeouts and backoff are tested without sleeping. Its
// monotonic time moves with advance() and with set() forward; set() backward moves the wall
// clock only, as a wall clock stepped back by an operator does.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = from_millis(1'700'000'000'000)) : now_(to_millis(start)) {}
  Timestamp now() const override { return from_millis(now_.load()); }
  Duration monotonic() const override { return Duration{monotonic_.load()}; }
  void advance(Duration d) {
    now_ += d.count();
    if (d.count() > 0) monotonic_ += d.count();
  }
  void set(Timestamp t) {
    const auto before = now_.exchange(to_millis(t));
    if (to_millis(t) > before) monotonic_ += to_millis(t) - before;
  }

 private:
  std::atomic<std::int64_t> now_;
  std::atomic<std::int64_t> monotonic_{0};
};

}  // namespace sagaflow::testing
