#include <algorithm>
#include <cmath>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow {

Duration RetryPolicy::delay_before(std::uint32_t next_attempt) const {
  if (next_attempt < 2) return Duration{0};
  // Computed in double so that a large attempt number saturates at max_delay, never overflows.
  const double exponent = static_cast<double>(next_attempt - 2);
  const double delay = static_cast<double>(initial_delay.count()) * std::pow(multiplier, exponent);
  const double capped = std::min(delay, static_cast<double>(max_delay.count()));
  return Duration{static_cast<Duration::rep>(std::max(capped, 0.0))};
}

bool RetryPolicy::retryable(const std::string& error_code) const {
  return std::find(non_retryable.begin(), non_retryable.end(), error_code) == non_retryable.end();
}

}  // namespace sagaflow::flow
