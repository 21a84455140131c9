#pragma once
// Exhaustive failure cases of one flow on the simulation world (`sagactl simulate`): generated
// participants that keep a ledger of the effects they apply and undo, one run per way each
// command, compensation and wait can go wrong (or per pair of them, at depth 2), and the checks
// every run must pass. docs/flow-tooling.md ("sagactl simulate") lists the cases and checks.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow::simulation {

enum class FaultKind {
  business_failure,      // the participant refuses the command
  retries_exhausted,     // every attempt fails with a technical error
  timeout_after_effect,  // the first attempt is applied, its reply never comes: it times out
  lost_reply_duplicate,  // the first reply is lost, the command is delivered again: two replies
  late_reply,            // an operator cancels while the command is out; its reply comes after
                         // the attempt timed out and compensation began
  cancel,                // an operator cancels while the command is out (its reply comes
                         // then), or while the saga waits at the wait
  wait_timeout,          // no event comes: the wait times out
  failure_event,         // the wait gets one of its failure events
  compensation_parks,    // the compensation keeps failing (the saga parks), then an operator
                         // retry; the compensation is caused by the last step that can fail
};

// A fault on one activity: `step` or `step[item]` (a foreach's item, a wait's each_event).
struct Fault {
  FaultKind kind = FaultKind::business_failure;
  std::string activity;
};

struct SimulationCase {
  std::vector<Fault> faults;  // none: the happy path
  std::string name() const;
};

enum class Check { ends, undone, order, on_compensated };
inline constexpr std::array kChecks{Check::ends, Check::undone, Check::order,
                                    Check::on_compensated};
const char* to_string(Check check);
const char* to_string(FaultKind kind);

struct CheckResult {
  bool applies = true;
  bool ok = true;
  std::string detail;  // what broke it
};

struct CaseReport {
  SimulationCase sim_case;
  std::string status;    // how the saga ended
  bool retried = false;  // it parked and an operator retried it
  std::array<CheckResult, 4> checks;
  std::vector<HistoryRow> history;
  bool violated() const;
};

// The cases of `plan` at `depth` (1: one fault each; 2: also every pair of faults on different
// activities), the happy path first.
std::vector<SimulationCase> failure_cases(const Plan& plan, int depth);

CaseReport simulate_case(const std::shared_ptr<const flow::Flow>& flow,
                         const SimulationCase& sim_case);

}  // namespace sagaflow::simulation
