// Fuzz target: a flow file as `sagactl lint`, the daemon and `POST /api/flows` read it. The
// loader with its verifier must answer every input with a flow or diagnostics, within its
// limits, never throwing; a flow it accepts must compile to a plan and give finite retry delays,
// as the engine computes them at run time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/flow/loader.hpp"

namespace {

using sagaflow::flow::RetryPolicy;
using sagaflow::flow::Step;

void check(bool holds) {
  if (!holds) std::abort();  // a broken promise of the loader: libFuzzer keeps the input
}

// Every backoff the engine may compute for the policy (attempts past the hundredth repeat the
// cap, so the first hundred and the last are enough).
void compute_delays(const RetryPolicy& retry) {
  for (std::uint32_t attempt = 2; attempt <= retry.max_attempts && attempt <= 100; ++attempt) {
    check(retry.delay_before(attempt).count() >= 0);
  }
  if (retry.max_attempts >= 2) check(retry.delay_before(retry.max_attempts).count() >= 0);
}

void compute_delays(const std::vector<Step>& steps) {
  for (const auto& step : steps) {
    compute_delays(step.retry);
    if (step.compensation) compute_delays(step.compensation->retry);
    if (step.wait.each_event) compute_delays(step.wait.each_event->retry);
    for (const auto& branch : step.branches) compute_delays(branch);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = sagaflow::flow::load_flow_text(text, "fuzz.yaml");
  for (const auto& diagnostic : result.diagnostics) {
    check(diagnostic.line >= 0 && diagnostic.column >= 0 && !diagnostic.message.empty());
    check(!diagnostic.to_string().empty());
  }
  if (!result.ok()) {
    check(result.diagnostics.size() > 0);  // a refusal always says why
    return 0;
  }
  compute_delays(result.flow->steps);
  compute_delays(result.flow->on_compensated);
  const sagaflow::Plan plan(result.flow);
  check(!plan.nodes().empty());
  return 0;
}
