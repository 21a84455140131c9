#pragma once
// What a flow reads of its steps' outputs (`$steps.<step>.<field>`): the lint's unread_output
// warning and an operator's skip (an output given in place of a step's reply must carry every
// field the flow reads of it) share this one answer.
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow {

// Every path a step reads itself (a parallel's branches are steps of their own).
std::vector<const Path*> paths_read_by(const Step& step);

// The field of a step's output a `$steps.X...` path reads: "" for the whole output. A foreach's
// output is the list of its items' outputs: `$steps.X.0.f` reads f.
std::string field_read(const Path& path, const Step& target);

// The fields of `target`'s output read by every other step of the flow (its branches' steps,
// compensations and on_compensated steps included): "" when one reads the whole output. A
// foreach's fields are those of each item's output.
std::set<std::string> output_fields_read(const Flow& flow, const Step& target);

}  // namespace sagaflow::flow
