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

// [{"step", "reason"}], as the admin API and the history write them.
json::array effects_json(const std::vector<StandingEffect>& effects);

}  // namespace sagaflow
