#pragma once
// The lint's warnings: what a valid flow may get wrong without being refused. Each rule is
// written out in docs/flow-tooling.md; a step lists in `allow_warnings` the codes it accepts.
//   flow_warnings.cpp - where each step stands, and the rules over steps and compensations
//   never_holds.cpp   - whether a condition can hold for any value its paths may take
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reporter.hpp"
#include "sagaflow/flow/flow.hpp"
#include "source_index.hpp"

namespace sagaflow::flow::detail {

// A path segment that indexes an array (`$steps.lines.0.id`).
inline bool is_index_segment(const std::string& segment) {
  return !segment.empty() &&
         std::all_of(segment.begin(), segment.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The codes, in the order docs/flow-tooling.md lists them.
std::span<const std::string_view> warning_codes();

// Reports every warning of a flow that loaded without errors. A flow of more than
// kMaxWarnedSteps steps is not checked: some rules compare every pair of steps.
inline constexpr std::size_t kMaxWarnedSteps = 1000;
void check_warnings(const Flow& flow, const SourceIndex& index, Reporter& reporter);

// What the flow says a path may hold.
struct PathValues {
  // Whether the path may hold `value` (every value by default).
  std::function<bool(const Path&, const json::value&)> possible;
  // Values it may hold that the condition does not name (a step output's literal).
  std::function<std::vector<json::value>(const Path&)> extra;
};

// True when the condition is false for every value its paths may take: each path ranges over
// null, true, false, 0, 1, "", "a", {}, [], the condition's literals and the numbers and strings
// right beside them, and `values.extra`, as far as `values.possible` allows; the real evaluator
// decides. False (no warning) when unsure: a path under another one, a path with an index, or
// more than kMaxNeverHoldsEvaluations combinations.
inline constexpr std::size_t kMaxNeverHoldsEvaluations = 20'000;
bool never_holds(const Expression& condition, const PathValues& values);

}  // namespace sagaflow::flow::detail
