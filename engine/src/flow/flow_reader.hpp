#pragma once
// Reads a structurally checked YAML document into a Flow and verifies it, reporting every
// problem with its position. Split over three files by concern:
//   flow_reader.cpp   - the flow, step sequences and what all steps share
//   input_reader.cpp  - the input contract: fields, nested fields and items
//   step_readers.cpp  - each step kind, retry policies, compensations
//   value_readers.cpp - expressions, mappings and paths, and which steps they may refer to
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "reporter.hpp"
#include "sagaflow/flow/flow.hpp"
#include "source_index.hpp"
#include "yaml_fields.hpp"
#include "yaml_tree.hpp"

namespace sagaflow::flow::detail {

constexpr unsigned root_bit(PathRoot root) {
  return 1U << static_cast<unsigned>(root);
}
// What every place may read: the saga's input, completed steps and the saga itself.
constexpr unsigned kDataRoots =
    root_bit(PathRoot::input) | root_bit(PathRoot::steps) | root_bit(PathRoot::saga);

// Which path roots a place in the flow may read, and whether the step's own result is one of
// them (its output, compensation, until and stale may; its input and `when` may not).
struct PathRules {
  unsigned roots = kDataRoots;
  bool self = false;
  // A compensation runs while the saga unwinds, when later steps may have completed too (a
  // hold is released, or voided if the later capture happened): it may read any step, and a
  // step that did not run reads as null. Only unknown steps are errors there.
  bool any_step = false;
};

// The steps certainly finished at some point of the flow: those finished before the enclosing
// list began (shared, not copied: every branch of a parallel starts from the same ones, and a
// wide parallel after many steps would otherwise copy them once per branch) plus the list's own.
class CompletedSteps {
 public:
  CompletedSteps() = default;
  explicit CompletedSteps(const CompletedSteps* before) : before_(before) {}

  bool contains(std::string_view name) const {
    return own_.contains(name) || (before_ != nullptr && before_->contains(name));
  }
  void insert(const std::string& name) { own_.insert(name); }

 private:
  const CompletedSteps* before_ = nullptr;
  std::set<std::string, std::less<>> own_;
};

// Where a value is read: in which step, after which steps, inside a foreach or not.
struct StepScope {
  std::string self;                           // empty when the step's name is invalid
  const CompletedSteps* completed = nullptr;  // steps finished before this one starts
  bool foreach = false;
};

// How deep input declarations nest: a top-level field is level 1, each `fields` or `items`
// inside it one more.
constexpr int kMaxInputDepth = 8;

class FlowReader {
 public:
  FlowReader(Reporter& reporter, SourceIndex& index) : reporter_(reporter), index_(index) {}
  Flow read(const YamlNode& root);

 private:
  // A `$steps.X` to a step not known to be complete at that point; resolved at the end, when
  // every step name is known, into "unknown step" or "runs later".
  struct PendingReference {
    std::string target;
    std::string from;
    std::string path_text;
    SourcePos pos;
    bool any_step = false;  // only the step's existence matters (see PathRules::any_step)
  };

  // flow_reader.cpp
  void read_on_compensated(const Field& field, Flow& flow);
  void read_trigger(const Field& field, Flow& flow);
  void read_retention(const Field& field, Flow& flow);
  std::vector<Step> read_sequence(const YamlNode& list, CompletedSteps& completed, bool in_branch);
  Step read_step(const YamlNode& node, const CompletedSteps& completed, bool in_branch);
  void read_step_name(const MapReader& map, Step& step);
  std::optional<std::pair<StepKind, Field>> read_kind(const MapReader& map, const Step& step);
  void check_kind_keys(const MapReader& map, const Step& step);
  void check_undo(const MapReader& map, const Step& step);
  void read_allow_warnings(const Field& field, Step& step);
  void index_output_fields(const YamlNode& output, const Step& step);
  void resolve_pending_references();

  // input_reader.cpp
  void read_input(const Field& field, Flow& flow);
  std::vector<InputField> read_input_fields(const YamlNode& map, const std::string& path,
                                            int level);
  InputField read_input_declaration(const Field& field, const std::string& path, int level,
                                    bool item);
  std::optional<FieldType> read_field_type(const Field& field);

  // step_readers.cpp
  void read_command_step(const MapReader& map, const Field& command, Step& step,
                         const StepScope& scope);
  void read_foreach_step(const MapReader& map, const Field& foreach, Step& step, StepScope scope);
  void read_publish_step(const Field& publish, Step& step, const StepScope& scope);
  void read_subflow_step(const MapReader& map, const Field& subflow, Step& step,
                         const StepScope& scope);
  void read_wait_step(const MapReader& map, const Field& wait, Step& step, const StepScope& scope);
  void read_each_event(const Field& field, Step& step, const StepScope& scope);
  void read_parallel_step(const Field& parallel, Step& step, const CompletedSteps& completed);
  CommandSpec read_command_fields(const MapReader& map, const PathRules& rules,
                                  const StepScope& scope);
  void read_attempt_settings(const MapReader& map, Step& step, const StepScope& scope);
  RetryPolicy read_retry(const Field& field, RetryPolicy policy);
  Compensation read_compensation(const Field& field, const StepScope& scope);
  void read_variants(const Field& field, Compensation& compensation, const PathRules& rules,
                     const StepScope& scope);
  CompensationVariant read_variant(const MapReader& map, const PathRules& rules,
                                   const StepScope& scope);
  void check_retry_budget(const std::optional<Field>& retry, const RetryPolicy& policy,
                          Duration timeout, const std::string& what);

  // value_readers.cpp
  std::optional<Expression> read_expression(const Field& field, const PathRules& rules,
                                            const StepScope& scope);
  // `level` 1 is the mapping's own value; a map or list deeper than Mapping::kMaxDepth is refused.
  Mapping read_mapping(const YamlNode& node, const PathRules& rules, const StepScope& scope,
                       int level = 1);
  std::optional<Path> read_path(const Field& field, const PathRules& rules, const StepScope& scope);
  void check_path(const Path& path, const PathRules& rules, const StepScope& scope, SourcePos pos);

  Reporter& reporter_;
  SourceIndex& index_;
  std::map<std::string, SourcePos, std::less<>> step_names_;  // every step, flow-wide
  std::vector<PendingReference> pending_;
  bool reading_on_compensated_ = false;  // the steps read now run after the compensation
};

// "step 'reserve'", or "step" when it has no usable name.
std::string step_label(const Step& step);

}  // namespace sagaflow::flow::detail
