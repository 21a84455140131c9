#pragma once
// Sub-flows between flows: a `subflow` step starts another deployed flow as a child saga. What a
// single file cannot tell is checked at deploy against the flows known then: each child flow
// must be known, and no flow may start itself again through its children (a cycle would start
// sagas without end). docs/flow-language.md#subflow-steps.
#include <functional>
#include <string_view>
#include <vector>

#include "sagaflow/flow/flow.hpp"
#include "sagaflow/flow/loader.hpp"

namespace sagaflow::flow {

// The flow known by that name (its latest version), or null.
using FindFlow = std::function<const Flow*(std::string_view name)>;

// Every subflow step of the flow, nested ones (in parallel branches) included, in file order.
std::vector<const Step*> subflow_steps(const Flow& flow);

// Errors, at each offending step's `flow:` value: a child flow that is not known, and a child
// flow that leads back to `flow` (itself included). `known` answers for the other flows; the
// flow itself stands for its own name, whatever `known` says of it.
std::vector<Diagnostic> check_subflows(const Flow& flow, const FindFlow& known);

}  // namespace sagaflow::flow
