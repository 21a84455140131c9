#pragma once
#include <atomic>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::testing {

// A clock that moves only when told: timeouts and backoff are tested without sleeping.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = from_millis(1'700'000'000'000)) : now_(to_millis(start)) {}
  Timestamp now() const override { return from_millis(now_.load()); }
  void advance(Duration d) { now_ += d.count(); }
  void set(Timestamp t) { now_ = to_millis(t); }

 private:
  std::atomic<std::int64_t> now_;
};

}  // namespace sagaflow::testing
