#pragma once
// Schedules (docs/schedules.md): what a deployed schedule must be, when it fires next, and the
// idempotency key of each firing's start. Pure; the orchestrator fires them (orchestrator.cpp).
#include <optional>
#include <string>
#include <string_view>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

// A schedule the deploy refuses: a bad name, cron expression, time zone, overlap or input.
class InvalidSchedule : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws InvalidSchedule naming what is wrong. Whether its flow is deployed is the caller's.
// A name is 1 to 128 characters of letters, digits, '_', '-' and '.'.
void check_schedule(const ScheduleRow& schedule);

// The time it fires next after `now`, as the orchestrator will: the first time after its last
// firing (or its deploy) when that is still to come, else the first after `now` (a time missed
// while no orchestrator ran fires at once: `now` is returned then). None when its expression
// never matches again.
std::optional<Timestamp> schedule_next_fire(const ScheduleRow& schedule, Timestamp now);

// The firing due at `now`: the latest time in (last firing or deploy, now], or none. Times missed
// while no orchestrator ran fire once, as this latest one.
std::optional<Timestamp> schedule_due(const ScheduleRow& schedule, Timestamp now);

// The idempotency key of the start of the firing at `fire`: "schedule:<name>:<UTC RFC 3339>",
// e.g. "schedule:nightly:2026-12-24T23:00:00Z". Unique per flow in the store, so that a firing
// is started once however many orchestrators or restarts try.
std::string schedule_key(std::string_view name, Timestamp fire);

}  // namespace sagaflow
