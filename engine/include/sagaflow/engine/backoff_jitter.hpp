#pragma once
// Jitter for retry backoff. When a dependency comes back after an outage, every saga that failed
// on it retries; with the policy's delay alone they would all retry at the same instants. Each
// delay is therefore scaled by a factor between 0.5 and 1.0 (the policy's delay is the upper
// bound, never exceeded), chosen by a hash of the command the backoff precedes: the same id
// always gets the same delay, in every process and release, so tests and replays stay exact.
#include <string_view>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

// The jitter factor of a command, in thousandths: 500..1000 (FNV-1a of the id, 64 bits).
int backoff_permille(std::string_view command_id);

// `delay` scaled by backoff_permille(command_id), rounded down; never longer than `delay`, never
// negative, and free of overflow for any delay (a saturated one included).
Duration jittered_backoff(Duration delay, std::string_view command_id);

}  // namespace sagaflow
