#include "sagaflow/engine/backoff_jitter.hpp"

#include <cstdint>

namespace sagaflow {

int backoff_permille(std::string_view command_id) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : command_id) hash = (hash ^ c) * 1099511628211ull;
  // The high bits mix best in FNV-1a: the low ones of a short id repeat.
  return 500 + static_cast<int>((hash >> 32) % 501);
}

Duration jittered_backoff(Duration delay, std::string_view command_id) {
  if (delay.count() <= 0) return Duration{0};
  const std::int64_t permille = backoff_permille(command_id);
  // delay * permille / 1000 in two parts, so that no product exceeds the delay's own range.
  const std::int64_t d = delay.count();
  return Duration{d / 1000 * permille + d % 1000 * permille / 1000};
}

}  // namespace sagaflow
