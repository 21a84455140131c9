#pragma once
// Durations as flow files write them: `250ms`, `5s`, `10m`, `2h`, `3d`, or combined from the
// largest unit to the smallest, `1h30m`.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow::detail {

// No flow needs to wait longer; the cap also keeps every sum of durations far from overflow.
inline constexpr Duration kMaxDuration = std::chrono::days(365);

struct DurationError {
  std::size_t offset = 0;  // into the text
  std::string message;
};

// Returns the duration, or sets `error` and returns nullopt.
std::optional<Duration> parse_duration(std::string_view text, DurationError& error);

// The inverse, for messages: 90000ms -> "1m30s".
std::string format_duration(Duration duration);

}  // namespace sagaflow::flow::detail
