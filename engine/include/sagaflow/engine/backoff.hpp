#pragma once
// How long to wait before the next attempt to reach a server (the broker, PostgreSQL):
// exponential from `first` up to `max`, each wait drawn from the upper half of its step ("equal
// jitter"), so that processes that lost a server together do not all come back in the same
// millisecond. Pure: the random source is injected (tests pass a fixed sequence) and the caller
// waits, on a monotonic clock (steady_clock, sigtimedwait, poll), never on the wall clock.
//
// Not thread-safe: one Backoff per retrying loop.
#include <algorithm>
#include <chrono>
#include <functional>
#include <random>

namespace sagaflow {

struct BackoffPolicy {
  std::chrono::milliseconds first{100};
  std::chrono::milliseconds max{5000};
};

class Backoff {
 public:
  // A uniform draw from [0, 1).
  using Random = std::function<double()>;

  Backoff(BackoffPolicy policy, Random random) : policy_(policy), random_(std::move(random)) {
    policy_.first = std::max(policy_.first, std::chrono::milliseconds(1));
    policy_.max = std::max(policy_.max, policy_.first);
    step_ = policy_.first;
  }

  // The wait before the next attempt: step n (0 first) is min(max, first * 2^n); the wait is
  // step/2 + draw * step/2, so within [step/2, step].
  std::chrono::milliseconds next() {
    const auto step = step_;
    if (step_ < policy_.max) step_ = std::min(step_ * 2, policy_.max);
    const double draw = std::clamp(random_(), 0.0, 1.0);
    const auto half = step.count() / 2;
    return std::chrono::milliseconds(step.count() - half +
                                     static_cast<std::chrono::milliseconds::rep>(draw * half));
  }

  // After a success: the next failure starts again from `first`.
  void reset() { step_ = policy_.first; }

 private:
  BackoffPolicy policy_;
  Random random_;
  std::chrono::milliseconds step_;
};

// A random source for production: a generator seeded from std::random_device.
inline Backoff::Random system_random() {
  return [engine = std::mt19937_64(std::random_device{}()),
          uniform = std::uniform_real_distribution<double>(0.0, 1.0)]() mutable {
    return uniform(engine);
  };
}

}  // namespace sagaflow
