#pragma once
// Mermaid sequence diagrams of a compiled flow: its happy path and, for every step that can fail
// and compensate, what runs up to that failure and then the compensations in the order the engine
// runs them (reverse order of completion). `sagactl diagram` prints them; docs/sagactl.md says
// how each construct is drawn.
#include <chrono>
#include <string>
#include <vector>

#include "sagaflow/engine/plan.hpp"

namespace sagactl {

struct DiagramPath {
  std::string name;     // "happy", or the name of the step whose failure it shows
  std::string mermaid;  // "sequenceDiagram\n..." without the "%% path:" comment
};

// The happy path first, then one path per step that can fail (commands, foreach steps, waits) and
// is not past a pivot, in the flow's order. Steps past a pivot have no such path: a failure there
// is retried and then parks the saga for an operator.
std::vector<DiagramPath> diagram_paths(const sagaflow::Plan& plan);

// Formats a duration the way flow files write them: 250ms, 5s, 1h30m, 3d.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace sagactl
