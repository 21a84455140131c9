// The lint's warnings over a valid flow (flow_warnings.hpp). The rules are written out, with
// examples, in docs/flow-tooling.md; keep the two in step.
#include "flow_warnings.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "flow_reader.hpp"
#include "sagaflow/flow/input_contract.hpp"
#include "sagaflow/flow/output_reads.hpp"
#include "sagaflow/flow/suggest.hpp"
#include "source_lines.hpp"

namespace sagaflow::flow::detail {
namespace {

constexpr std::string_view kIrreversibleBeforeFailure = "irreversible_before_failure";
constexpr std::string_view kCompensationReadsNull = "compensation_reads_null";
constexpr std::string_view kUnreadOutput = "unread_output";
constexpr std::string_view kWhenNeverHolds = "when_never_holds";
constexpr std::string_view kDuplicateCompensation = "duplicate_compensation";
constexpr std::string_view kServiceNearMiss = "service_near_miss";

constexpr std::array<std::string_view, 6> kCodes{
    kIrreversibleBeforeFailure, kCompensationReadsNull, kUnreadOutput, kWhenNeverHolds,
    kDuplicateCompensation,     kServiceNearMiss};

constexpr std::size_t kNoPivot = std::numeric_limits<std::size_t>::max();

// A forward step and where it stands: `at` is its index in the top-level list, then, inside a
// parallel, the branch and the index in that branch, and so on.
struct Placed {
  const Step* step = nullptr;
  std::vector<std::size_t> at;
  bool conditional = false;  // it, or a parallel around it, has a `when`: it may be skipped
};

bool sends_commands(const Step& step) {
  return step.kind == StepKind::command || step.kind == StepKind::foreach;
}

// A business failure, retries running out or a timeout fails the step and, before a pivot,
// compensates the saga. A publish cannot fail; a parallel fails through its branches' steps.
bool can_fail(const Step& step) {
  return sends_commands(step) || step.kind == StepKind::wait;
}

// `a` has certainly completed when `b` starts.
bool completes_before(const Placed& a, const Placed& b) {
  const std::size_t common = std::min(a.at.size(), b.at.size());
  for (std::size_t i = 0; i < common; ++i) {
    if (a.at[i] == b.at[i]) continue;
    return i % 2 == 0 && a.at[i] < b.at[i];  // an odd level is a branch: siblings are neither
  }
  return false;  // the same step, or a parallel and a step inside it
}

bool reads_step(const std::optional<Expression>& expression, std::string_view name) {
  if (!expression) return false;
  const auto paths = expression->paths();
  return std::any_of(paths.begin(), paths.end(), [&](const Path* path) {
    return path->root == PathRoot::steps && path->step_name() == name;
  });
}

class Warnings {
 public:
  Warnings(const Flow& flow, const SourceIndex& index, Reporter& reporter)
      : flow_(flow), index_(index), reporter_(reporter) {}

  void run() {
    place(flow_.steps, {}, false);
    if (placed_.size() + flow_.on_compensated.size() > kMaxWarnedSteps) return;
    irreversible_before_failure();
    compensation_reads_null();
    unread_outputs();
    whens_never_hold();
    duplicate_compensations();
    service_near_misses();
  }

 private:
  void place(const std::vector<Step>& steps, const std::vector<std::size_t>& prefix,
             bool conditional) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      Placed placed{&steps[i], prefix, conditional || steps[i].when.has_value()};
      placed.at.push_back(i);
      by_name_.emplace(steps[i].name, placed_.size());
      placed_.push_back(placed);
      for (std::size_t b = 0; b < steps[i].branches.size(); ++b) {
        auto inner = placed.at;
        inner.push_back(b);
        place(steps[i].branches[b], inner, placed.conditional);
      }
    }
  }

  const Placed* find(std::string_view name) const {
    auto found = by_name_.find(name);
    return found == by_name_.end() ? nullptr : &placed_[found->second];
  }

  // `step` is the one the warning is about: its `allow_warnings` may accept it.
  void warn(const Step* step, SourcePos pos, std::string_view code, const std::string& message,
            const std::string& fix) {
    if (step != nullptr) {
      const auto& allowed = step->allow_warnings;
      if (std::find(allowed.begin(), allowed.end(), code) != allowed.end()) return;
    }
    reporter_.warning(pos, code, message, fix);
  }

  // The first top-level pivot at or after `top`, kNoPivot when none.
  std::size_t first_pivot_from(std::size_t top) const {
    for (std::size_t i = top; i < flow_.steps.size(); ++i) {
      if (flow_.steps[i].pivot) return i;
    }
    return kNoPivot;
  }

  bool undone_by_a_compensation(const Step& step) const {
    return std::any_of(placed_.begin(), placed_.end(), [&](const Placed& other) {
      if (other.step == &step || !other.step->compensation) return false;
      const auto& variants = other.step->compensation->variants;
      return std::any_of(variants.begin(), variants.end(), [&](const CompensationVariant& v) {
        if (reads_step(v.when, step.name)) return true;
        const auto paths = v.command.input.paths();
        return std::any_of(paths.begin(), paths.end(), [&](const Path* path) {
          return path->root == PathRoot::steps && path->step_name() == step.name;
        });
      });
    });
  }

  // ---- irreversible_before_failure -------------------------------------------------------
  void irreversible_before_failure() {
    for (const Placed& placed : placed_) {
      const Step& step = *placed.step;
      if (!step.irreversible || step.pivot || !sends_commands(step)) continue;
      const std::size_t top = placed.at.front();
      const std::size_t pivot = first_pivot_from(0);
      if (pivot != kNoPivot && pivot < top) continue;  // past the pivot failures park
      if (undone_by_a_compensation(step)) continue;
      const std::size_t limit = first_pivot_from(top);
      const Step* failing = step.kind == StepKind::foreach ? &step : nullptr;
      for (const Placed& other : placed_) {
        if (failing != nullptr) break;
        if (other.step == &step || !can_fail(*other.step) || other.at.front() > limit) continue;
        if (!completes_before(other, placed)) failing = other.step;
      }
      if (failing == nullptr) continue;
      const std::string what =
          failing == &step
              ? step_label(step) +
                    " is an irreversible foreach: when one item fails, the items already done "
                    "stand after the compensation"
              : step_label(step) + " is irreversible, and " + step_label(*failing) +
                    ", which can fail, may run after it before any pivot: after that failure "
                    "the saga ends compensated with this step's effect still standing";
      warn(&step, step.pos, kIrreversibleBeforeFailure, what,
           "make it the pivot ('pivot: true') so that later failures park the saga instead of "
           "compensating; or move it after the steps that can fail; or give it a "
           "'compensation'; or undo it in an earlier step's compensation that reads $steps." +
               step.name);
    }
  }

  // ---- compensation_reads_null ------------------------------------------------------------
  // Why `$steps.<target>` may be null when the compensation of `placed` runs, or nullopt.
  std::optional<std::string> null_reason(const Placed& placed, const Path& path) const {
    const std::string_view target = path.step_name();
    if (target == placed.step->name) {
      return "the step's own output, which is null when its last attempt timed out (the step "
             "is compensated without a reply, since it may have been applied)";
    }
    const Placed* other = find(target);
    if (other == nullptr) {
      return "step '" + std::string(target) + "', which runs only after the compensation";
    }
    if (!completes_before(*other, placed)) {
      return "step '" + std::string(target) + "', which runs after step '" + placed.step->name +
             "' (or beside it in a parallel): it is null when the saga fails before it completes";
    }
    if (other->conditional) {
      return "step '" + std::string(target) +
             "', which has a 'when' (or is inside a parallel with one): it is null when skipped";
    }
    const Step& source = *other->step;
    const std::string field = field_read(path, source);
    if (!field.empty() && source.output && source.kind != StepKind::foreach) {
      const json::value tmpl = source.output->to_template();
      if (const auto* object = tmpl.if_object(); object && !object->contains(field)) {
        return "field '" + field + "', which the output of step '" + source.name +
               "' does not have: it is always null";
      }
    }
    return std::nullopt;
  }

  void compensation_reads_null() {
    for (const Placed& placed : placed_) {
      const Step& step = *placed.step;
      if (!step.compensation) continue;
      for (const auto& variant : step.compensation->variants) {
        for (const Path* path : variant.command.input.paths()) {
          if (path->root != PathRoot::steps || reads_step(variant.when, path->step_name())) {
            continue;
          }
          auto reason = null_reason(placed, *path);
          if (!reason) continue;
          warn(&step, index_.path_pos(path, variant.pos), kCompensationReadsNull,
               "the compensation of " + step_label(step) + " reads " + path->text + ": " + *reason,
               "read what the step knows before it runs (the saga id, the input) to find the "
               "effect, as a reference; or guard this variant with a 'when' that reads $steps." +
                   std::string(path->step_name()) + " and add a variant for when it is null");
        }
      }
    }
  }

  // ---- unread_output ---------------------------------------------------------------------
  void unread_outputs() {
    std::map<std::string, std::set<std::string>, std::less<>> read;  // step -> fields ("" all)
    auto note = [&](const Path* path) {
      if (path->root != PathRoot::steps) return;
      const Placed* target = find(path->step_name());
      if (target == nullptr) return;
      read[std::string(path->step_name())].insert(field_read(*path, *target->step));
    };
    for (const Placed& placed : placed_) {
      for (const Path* path : paths_read_by(*placed.step)) note(path);
    }
    for (const Step& step : flow_.on_compensated) {
      for (const Path* path : paths_read_by(step)) note(path);
    }
    for (const Placed& placed : placed_) {
      const Step& step = *placed.step;
      if (!step.output || step.name.empty()) continue;
      const auto fields = read.find(step.name);
      if (fields != read.end() && fields->second.contains("")) continue;
      const json::value tmpl = step.output->to_template();
      const auto* object = tmpl.if_object();
      const auto positions = index_.output_fields.find(step.name);
      const std::string fix =
          "remove it from 'output'; or, if it is kept for readers outside the flow (the "
          "admin API, the dashboard), add 'allow_warnings: [unread_output]' to the step";
      if (object == nullptr) {
        if (fields == read.end()) {
          warn(&step, step.pos, kUnreadOutput,
               "nothing in the flow reads the output of " + step_label(step), fix);
        }
        continue;
      }
      for (const auto& member : *object) {
        const std::string field(member.key());
        if (fields != read.end() && fields->second.contains(field)) continue;
        SourcePos pos = step.pos;
        if (positions != index_.output_fields.end()) {
          if (auto at = positions->second.find(field); at != positions->second.end()) {
            pos = at->second;
          }
        }
        warn(&step, pos, kUnreadOutput,
             "nothing in the flow reads output '" + field + "' of " + step_label(step) +
                 " ($steps." + step.name + "." + field + ")",
             fix);
      }
    }
  }

  // ---- when_never_holds ------------------------------------------------------------------
  bool input_may_hold(const Path& path, const json::value& value) const {
    const InputContract& contract = flow_.input;
    if (!contract.declared || path.segments.size() != 1) return true;
    const auto& fields = contract.fields;
    const auto field = std::find_if(fields.begin(), fields.end(), [&](const InputField& f) {
      return f.name == path.segments.front();
    });
    if (field == fields.end()) return contract.additional_fields || value.is_null();
    if (value.is_null()) return !field->required;
    // Only the field's own type: what nests inside it is not looked at here.
    InputField shallow{.name = field->name, .type = field->type};
    const InputContract one{.fields = {shallow}, .declared = true, .additional_fields = true};
    return check_input(one, json::object{{field->name, value}}).ok();
  }

  // What `$steps.X.f` is, when X's output says: nullopt when unknown (a path, or no output),
  // null when the output has no such field, else the literal it writes there.
  std::optional<json::value> output_literal(const Path& path) const {
    if (path.root != PathRoot::steps || path.segments.size() != 2) return std::nullopt;
    const Placed* target = find(path.step_name());
    if (target == nullptr || !target->step->output || target->step->kind == StepKind::foreach) {
      return std::nullopt;
    }
    const json::value tmpl = target->step->output->to_template();
    const auto* object = tmpl.if_object();
    if (object == nullptr) return std::nullopt;
    const auto* value = object->if_contains(path.segments[1]);
    if (value == nullptr) return json::value(nullptr);
    const auto* text = value->if_string();
    if (text != nullptr && text->starts_with("$")) return std::nullopt;  // a path, or escaped
    return *value;
  }

  PathValues path_values() const {
    PathValues values;
    values.possible = [this](const Path& path, const json::value& value) {
      if (path.root == PathRoot::input) return input_may_hold(path, value);
      const auto literal = output_literal(path);
      // A step may have been skipped, or not have run: null is always possible.
      return !literal || value.is_null() || (value.kind() == literal->kind() && value == *literal);
    };
    values.extra = [this](const Path& path) {
      std::vector<json::value> extra;
      if (auto literal = output_literal(path)) extra.push_back(std::move(*literal));
      return extra;
    };
    return values;
  }

  void check_when(const Step* step, const std::optional<Expression>& when, SourcePos pos,
                  const std::string& consequence, const PathValues& values) {
    if (!when || !never_holds(*when, values)) return;
    warn(step, pos, kWhenNeverHolds, "when " + when->text() + " can never hold: " + consequence,
         "check its paths and literals: a step's output has only the fields its 'output' "
         "lists (others are null), an input field only its declared type; remove the "
         "condition if it is not needed");
  }

  void whens_never_hold() {
    const PathValues values = path_values();
    auto each_step = [&](const Step& step) {
      check_when(&step, step.when, step.when_pos, step_label(step) + " never runs", values);
      if (!step.compensation) return;
      for (const auto& variant : step.compensation->variants) {
        check_when(&step, variant.when, variant.when_pos,
                   "this compensation variant of " + step_label(step) + " never runs", values);
      }
    };
    for (const Placed& placed : placed_) each_step(*placed.step);
    for (const Step& step : flow_.on_compensated) each_step(step);
    if (flow_.trigger) {
      check_when(nullptr, flow_.trigger->when, flow_.trigger->when_pos,
                 "the trigger never starts a saga", values);
    }
  }

  // ---- duplicate_compensation ------------------------------------------------------------
  void duplicate_compensations() {
    struct First {
      const Step* step;
      SourcePos pos;
    };
    std::map<std::string, First> seen;  // command type + input template -> first variant
    for (const Placed& placed : placed_) {
      const Step& step = *placed.step;
      if (!step.compensation) continue;
      for (const auto& variant : step.compensation->variants) {
        // Per item of a foreach: the same input over other items is another effect.
        const std::string items = step.kind == StepKind::foreach ? step.items.text : "";
        const std::string key = variant.command.type() + " " + items + " " +
                                json::serialize(variant.command.input.to_template());
        auto [first, inserted] = seen.emplace(key, First{&step, variant.pos});
        if (inserted || first->second.step == &step) continue;
        warn(&step, variant.pos, kDuplicateCompensation,
             "the compensation of " + step_label(step) + " sends " + variant.command.type() +
                 " with the same input as the compensation of " + step_label(*first->second.step) +
                 " (at " + format_pos(first->second.pos) + "): one effect would be undone twice",
             "undo each effect in one step only: make this compensation undo what this step "
             "itself did, or remove it and mark the step 'irreversible: true' if it changes "
             "nothing that needs undoing");
      }
    }
  }

  // ---- service_near_miss -----------------------------------------------------------------
  void service_near_misses() {
    struct Use {
      const Step* step;
      SourcePos pos;
    };
    std::map<std::string, std::vector<Use>, std::less<>> uses;
    auto note = [&](const Step& step, const CommandSpec& command) {
      if (!command.service.empty()) uses[command.service].push_back({&step, command.service_pos});
    };
    auto each_step = [&](const Step& step) {
      if (sends_commands(step)) note(step, step.command);
      if (step.compensation) {
        for (const auto& variant : step.compensation->variants) note(step, variant.command);
      }
      if (step.wait.each_event) note(step, step.wait.each_event->command);
    };
    for (const Placed& placed : placed_) each_step(*placed.step);
    for (const Step& step : flow_.on_compensated) each_step(step);
    auto first_use = [](const std::vector<Use>& list) {
      auto pos = list.front().pos;
      for (const auto& use : list) {
        if (std::tie(use.pos.line, use.pos.column) < std::tie(pos.line, pos.column)) pos = use.pos;
      }
      return pos;
    };
    for (const auto& [service, list] : uses) {
      for (const auto& [other, other_list] : uses) {
        if (other == service || edit_distance(service, other, suggestion_threshold(service)) >
                                    suggestion_threshold(service)) {
          continue;
        }
        // The rarer name is the likely typo; two as common are both warned, each naming the
        // other, since either may be the misspelt one.
        if (list.size() > other_list.size()) continue;
        const auto theirs = first_use(other_list);
        for (const auto& use : list) {
          warn(use.step, use.pos, kServiceNearMiss,
               "service '" + service + "' is used here, and '" + other +
                   "' elsewhere in this flow (at " + format_pos(theirs) + "); did you mean '" +
                   other + "'?",
               "correct the misspelt name; if both services exist, add 'allow_warnings: "
               "[service_near_miss]' to the step");
        }
        break;
      }
    }
  }

  const Flow& flow_;
  const SourceIndex& index_;
  Reporter& reporter_;
  std::vector<Placed> placed_;  // every forward step, in file order
  std::map<std::string, std::size_t, std::less<>> by_name_;
};

}  // namespace

std::span<const std::string_view> warning_codes() {
  return kCodes;
}

void check_warnings(const Flow& flow, const SourceIndex& index, Reporter& reporter) {
  Warnings(flow, index, reporter).run();
}

}  // namespace sagaflow::flow::detail
