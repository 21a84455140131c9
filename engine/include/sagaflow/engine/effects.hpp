#pragma once
// Honest ends: what a compensated or cancelled saga leaves in place. Compensation undoes every
// step that has a compensation; an `irreversible` step has none, so its effect stands (an email
// sent, a message delivered) unless the compensation of another step undid it (a hold whose
// compensation reads `$steps.capture` and voids the capture). The status stays `compensated` (or
// `cancelled`); this list says what it did not undo.
#include <string>
#include <vector>

#include "sagaflow/engine/saga.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow {

struct StandingEffect {
  std::string step;    // the activity key: "notify", "send_cvc[1]"
  std::string reason;  // why it stands
};

// Each irreversible activity that completed (or whose last attempt timed out, so that it may
// have been applied), in order of completion, unless a compensation that ran reads
// `$steps.<its step>`. The on_compensated steps are not listed: they are the failure path's own
// forward steps. Empty unless the saga is compensated or cancelled.
std::vector<StandingEffect> effects_left_standing(const SagaState& saga);

// A step a cancel would undo, and the compensation commands it may send (each variant's: a
// variant's `when` is decided when the compensation runs).
struct PlannedCompensation {
  std::string step;                   // the activity key
  std::vector<std::string> commands;  // "service.name"
};

// What cancelling the saga now would compensate, in the order it would (the latest completed
// first): each activity completed (or maybe applied) whose step declares a compensation, and
// not undone yet. Commands still out are undone too if they succeed; they are not listed.
// The bulk cancel's dry run (POST /api/sagas/cancel with dry_run) shows it.
std::vector<PlannedCompensation> compensations_on_cancel(const SagaState& saga);

// [{"step", "reason"}], as the admin API and the history write them.
json::array effects_json(const std::vector<StandingEffect>& effects);

}  // namespace sagaflow
