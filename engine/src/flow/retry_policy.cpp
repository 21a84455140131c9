// Backoff arithmetic. A flow file chooses every number here, so nothing may overflow, become
// NaN or be converted out of range, whatever the values: delays saturate at max_delay and
// sums at Duration::max().
#include <algorithm>
#include <cmath>
#include <limits>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow {
namespace {

using Rep = Duration::rep;
constexpr Rep kLongest = std::numeric_limits<Rep>::max();

// Both operands non-negative.
Rep saturating_add(Rep a, Rep b) {
  return a > kLongest - b ? kLongest : a + b;
}

// `a` non-negative.
Rep saturating_multiply(Rep a, std::uint64_t times) {
  if (a == 0 || times == 0) return 0;
  return static_cast<std::uint64_t>(a) > static_cast<std::uint64_t>(kLongest) / times
             ? kLongest
             : a * static_cast<Rep>(times);
}

Rep non_negative(Duration duration) {
  return std::max<Rep>(duration.count(), 0);
}

}  // namespace

Duration RetryPolicy::delay_before(std::uint32_t next_attempt) const {
  if (next_attempt < 2) return Duration{0};
  const Rep cap = non_negative(max_delay);
  const Rep first = std::min(non_negative(initial_delay), cap);
  // A zero first delay stays zero: multiplier^n may be infinite, and 0 x infinity is NaN.
  // A multiplier that is not above 1 (NaN included) keeps the delay constant.
  if (first == 0 || next_attempt == 2 || !(multiplier > 1.0)) return Duration{first};
  const double grown =
      static_cast<double>(first) * std::pow(multiplier, static_cast<double>(next_attempt - 2));
  // Compared while still a double: only a value below the cap (so in range) becomes an integer.
  if (!(grown < static_cast<double>(cap))) return Duration{cap};
  return Duration{static_cast<Rep>(grown)};
}

Duration RetryPolicy::longest_run(Duration attempt_timeout) const {
  Rep total = saturating_multiply(non_negative(attempt_timeout), max_attempts);
  // Delays grow until they stop growing (max_delay reached, or a multiplier of 1); the rest
  // are all equal and are added in one multiplication.
  for (std::uint64_t attempt = 2; attempt <= max_attempts && total < kLongest; ++attempt) {
    const Duration delay = delay_before(static_cast<std::uint32_t>(attempt));
    const bool steady = delay.count() == 0 || delay >= max_delay || !(multiplier > 1.0);
    if (steady) {
      return Duration{
          saturating_add(total, saturating_multiply(delay.count(), max_attempts - attempt + 1))};
    }
    total = saturating_add(total, delay.count());
  }
  return Duration{total};
}

bool RetryPolicy::retryable(const std::string& error_code) const {
  return std::find(non_retryable.begin(), non_retryable.end(), error_code) == non_retryable.end();
}

}  // namespace sagaflow::flow
