// Retry arithmetic: the delays the engine waits and the longest a step's attempts may take,
// exact for sane policies and bounded (never negative, never NaN, never wrapped) for any.
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "sagaflow/flow/flow.hpp"

namespace flow = sagaflow::flow;
using flow::Duration;
using std::chrono::milliseconds;

namespace {

constexpr Duration kLongest = Duration::max();
constexpr std::uint32_t kMostAttempts = std::numeric_limits<std::uint32_t>::max();

flow::RetryPolicy policy_of(std::uint32_t attempts, Duration initial, double multiplier,
                            Duration cap) {
  flow::RetryPolicy policy;
  policy.max_attempts = attempts;
  policy.initial_delay = initial;
  policy.multiplier = multiplier;
  policy.max_delay = cap;
  return policy;
}

// The values a flow file or a careless caller could give, sane and hostile.
const std::vector<Duration> kDurations{Duration{-1},
                                       Duration{0},
                                       Duration{1},
                                       milliseconds(200),
                                       std::chrono::seconds(30),
                                       std::chrono::hours(1),
                                       std::chrono::days(7),
                                       std::chrono::days(365),
                                       Duration{std::numeric_limits<Duration::rep>::min()},
                                       kLongest};
const std::vector<double> kMultipliers{1.0,
                                       1.000001,
                                       1.5,
                                       2.0,
                                       100.0,
                                       1e300,
                                       std::numeric_limits<double>::max(),
                                       std::numeric_limits<double>::infinity(),
                                       std::numeric_limits<double>::quiet_NaN(),
                                       0.0,
                                       0.5,
                                       -3.0,
                                       -std::numeric_limits<double>::infinity()};
const std::vector<std::uint32_t> kAttempts{0, 1, 2, 3, 10, 64, 999, 1000, 65'536, kMostAttempts};

// The longest run as the engine lives it: each attempt's timeout, then the delay before the
// next, summed in 128 bits so that the reference cannot overflow either.
__extension__ using Wide = __int128;

Duration summed_run(const flow::RetryPolicy& policy, Duration timeout) {
  Wide total = static_cast<Wide>(timeout.count()) * policy.max_attempts;
  for (std::uint32_t attempt = 2; attempt <= policy.max_attempts; ++attempt) {
    total += policy.delay_before(attempt).count();
  }
  return total > kLongest.count() ? kLongest : Duration{static_cast<Duration::rep>(total)};
}

}  // namespace

TEST_CASE("retry backoff grows by the multiplier and is capped") {
  flow::RetryPolicy policy;
  policy.max_attempts = 10;
  policy.initial_delay = milliseconds(100);
  policy.multiplier = 2.0;
  policy.max_delay = milliseconds(1000);
  CHECK(policy.delay_before(1) == milliseconds(0));
  CHECK(policy.delay_before(2) == milliseconds(100));
  CHECK(policy.delay_before(3) == milliseconds(200));
  CHECK(policy.delay_before(4) == milliseconds(400));
  CHECK(policy.delay_before(5) == milliseconds(800));
  CHECK(policy.delay_before(6) == milliseconds(1000));
  CHECK(policy.delay_before(4'000'000'000U) == milliseconds(1000));  // saturates, no overflow
  policy.multiplier = 1.0;
  CHECK(policy.delay_before(9) == milliseconds(100));
}

TEST_CASE("non-retryable error codes are not retried") {
  flow::RetryPolicy policy;
  policy.non_retryable = {"OfferUnavailable", "CodeAlreadySold"};
  CHECK_FALSE(policy.retryable("CodeAlreadySold"));
  CHECK(policy.retryable("Timeout"));
  CHECK(policy.retryable(""));
}

TEST_CASE("delays are never negative, never above max_delay and never shrink, for any values") {
  std::size_t checked = 0;
  for (const Duration initial : kDurations) {
    for (const double multiplier : kMultipliers) {
      for (const Duration cap : kDurations) {
        const auto policy = policy_of(kMostAttempts, initial, multiplier, cap);
        const Duration ceiling = std::max(cap, Duration{0});
        const Duration first = std::clamp(initial, Duration{0}, ceiling);
        CAPTURE(initial.count());
        CAPTURE(multiplier);
        CAPTURE(cap.count());
        CHECK(policy.delay_before(0) == Duration{0});
        CHECK(policy.delay_before(1) == Duration{0});
        CHECK(policy.delay_before(2) == first);
        Duration previous = first;
        for (const std::uint32_t attempt : kAttempts) {
          if (attempt < 2) continue;
          const Duration delay = policy.delay_before(attempt);
          CAPTURE(attempt);
          CHECK(delay >= previous);
          CHECK(delay <= ceiling);
          if (first == Duration{0}) CHECK(delay == Duration{0});  // 0 x anything, even infinity
          if (!(multiplier > 1.0)) CHECK(delay == first);         // NaN and below 1: constant
          previous = delay;
          ++checked;
        }
      }
    }
  }
  CHECK(checked == kDurations.size() * kMultipliers.size() * kDurations.size() * 8);
}

TEST_CASE("longest_run is what the engine would wait, and saturates instead of overflowing") {
  const std::vector<std::uint32_t> attempts{0, 1, 2, 3, 10, 999, 1000};
  const std::vector<Duration> timeouts{Duration{-1}, Duration{0}, std::chrono::seconds(30),
                                       std::chrono::days(365), kLongest};
  for (const Duration initial : kDurations) {
    for (const double multiplier : kMultipliers) {
      for (const Duration cap : kDurations) {
        for (const std::uint32_t count : attempts) {
          for (const Duration timeout : timeouts) {
            const auto policy = policy_of(count, initial, multiplier, cap);
            const Duration longest = policy.longest_run(timeout);
            CAPTURE(initial.count());
            CAPTURE(multiplier);
            CAPTURE(cap.count());
            CAPTURE(count);
            CAPTURE(timeout.count());
            CHECK(longest >= Duration{0});
            CHECK(longest == summed_run(policy, std::max(timeout, Duration{0})));
          }
        }
      }
    }
  }
}

TEST_CASE("longest_run takes billions of attempts in a few steps once the delay stops growing") {
  // A slowly growing delay would take one step per attempt; these reach their steady delay
  // at once (zero, constant, or capped within 20 attempts).
  const Duration day = std::chrono::days(1);
  CHECK(policy_of(kMostAttempts, Duration{0}, 100.0, day).longest_run(Duration{0}) == Duration{0});
  CHECK(policy_of(kMostAttempts, Duration{0}, 100.0, day).longest_run(day) ==
        day * std::int64_t{kMostAttempts});
  CHECK(policy_of(kMostAttempts, milliseconds(5), 1.0, day).longest_run(Duration{0}) ==
        milliseconds(5) * (std::int64_t{kMostAttempts} - 1));
  CHECK(policy_of(kMostAttempts, Duration{1}, 2.0, day).longest_run(kLongest) == kLongest);
  CHECK(policy_of(kMostAttempts, Duration{1}, 2.0, kLongest).longest_run(Duration{0}) == kLongest);
  const auto capped = policy_of(kMostAttempts, Duration{1}, 10.0, milliseconds(1000));
  CHECK(capped.longest_run(Duration{0}) ==
        milliseconds(1 + 10 + 100) + milliseconds(1000) * (std::int64_t{kMostAttempts} - 4));
}

TEST_CASE("the policy from the issue: no delay at all, so only the attempts' timeouts count") {
  // timeout 365d, max_attempts 999, initial_delay 0ms, multiplier 100: 100^997 is infinite,
  // and 0 x infinity used to be NaN, converted to an integer.
  const auto policy = policy_of(999, Duration{0}, 100.0, milliseconds(30'000));
  for (std::uint32_t attempt = 2; attempt <= 999; ++attempt) {
    CHECK(policy.delay_before(attempt) == Duration{0});
  }
  CHECK(policy.longest_run(std::chrono::days(365)) == std::chrono::days(365 * 999));
}

TEST_CASE("a steep valid policy reaches max_delay and stays there") {
  const auto policy = policy_of(1000, std::chrono::seconds(1), 100.0, std::chrono::hours(1));
  CHECK(policy.delay_before(2) == std::chrono::seconds(1));
  CHECK(policy.delay_before(3) == std::chrono::seconds(100));
  CHECK(policy.delay_before(4) == std::chrono::hours(1));  // 10,000s capped
  CHECK(policy.delay_before(1000) == std::chrono::hours(1));
  CHECK(policy.delay_before(kMostAttempts) == std::chrono::hours(1));
  CHECK(policy.longest_run(std::chrono::seconds(1)) ==
        std::chrono::seconds(1000 + 1 + 100) + std::chrono::hours(1) * 997);
}
