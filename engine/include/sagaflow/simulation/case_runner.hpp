#pragma once
// Runs one test case of a case file (case_file.hpp) on the simulation world: the flow on the
// real engine, each command answered by the case's script, the case's events and cancel at
// their times, and time skipped ahead to the next timer until the saga ends. Then compares
// what happened with what the case expects.
#include <memory>
#include <string>
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/simulation/case_file.hpp"

namespace sagaflow::simulation {

// One expectation that did not hold: `field` is "status", "commands", "compensations",
// "events" or "outputs.<step>"; the values are as the case wrote them and as they came.
struct Mismatch {
  std::string field;
  json::value expected;
  json::value actual;
};

struct CaseOutcome {
  std::string name;
  int line = 0;
  bool passed = false;
  std::vector<Mismatch> mismatches;
  std::string error;      // the case could not run (its input refused, a cancel refused...)
  Duration simulated{0};  // how much time passed on the manual clock
  std::vector<HistoryRow> history;  // the saga's history, for a failure's report
};

CaseOutcome run_case(const std::shared_ptr<const flow::Flow>& flow, const TestCase& test);

// Lines of a diff between two lists of strings, each prefixed "  " (both), "- " (expected
// only) or "+ " (actual only), in the order a reader follows (a longest common subsequence).
std::vector<std::string> diff_lines(const std::vector<std::string>& expected,
                                    const std::vector<std::string>& actual);

}  // namespace sagaflow::simulation
