#include "sagaflow/flow/output_reads.hpp"

#include <algorithm>

#include "flow_warnings.hpp"

namespace sagaflow::flow {
namespace {

void append(std::vector<const Path*>& out, const std::vector<const Path*>& paths) {
  out.insert(out.end(), paths.begin(), paths.end());
}

void append(std::vector<const Path*>& out, const std::optional<Expression>& expression) {
  if (expression) append(out, expression->paths());
}

void note_reads(const std::vector<Step>& steps, const Step& target, std::set<std::string>& out) {
  for (const Step& step : steps) {
    if (&step != &target) {
      for (const Path* path : paths_read_by(step)) {
        if (path->root == PathRoot::steps && path->step_name() == target.name) {
          out.insert(field_read(*path, target));
        }
      }
    }
    for (const auto& branch : step.branches) note_reads(branch, target, out);
  }
}

}  // namespace

std::vector<const Path*> paths_read_by(const Step& step) {
  std::vector<const Path*> out;
  append(out, step.when);
  append(out, step.command.input.paths());
  if (step.output) append(out, step.output->paths());
  if (step.compensation) {
    for (const auto& variant : step.compensation->variants) {
      append(out, variant.when);
      append(out, variant.command.input.paths());
    }
  }
  append(out, step.payload.paths());
  append(out, step.wait.correlate.paths());
  append(out, step.wait.until);
  append(out, step.wait.stale);
  if (step.wait.each_event) append(out, step.wait.each_event->command.input.paths());
  if (step.kind == StepKind::foreach) out.push_back(&step.items);
  return out;
}

std::string field_read(const Path& path, const Step& target) {
  std::size_t at = 1;
  if (target.kind == StepKind::foreach && path.segments.size() > at &&
      detail::is_index_segment(path.segments[at])) {
    ++at;
  }
  return path.segments.size() > at ? path.segments[at] : std::string();
}

std::set<std::string> output_fields_read(const Flow& flow, const Step& target) {
  std::set<std::string> fields;
  note_reads(flow.steps, target, fields);
  note_reads(flow.on_compensated, target, fields);
  return fields;
}

}  // namespace sagaflow::flow
