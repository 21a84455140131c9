// Reads a case file with the flow loader's YAML reader (engine/src/flow: yaml_document,
// yaml_fields, reporter), so that its problems are reported like a flow file's.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "reporter.hpp"
#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/flow/suggest.hpp"
#include "sagaflow/simulation/case_file.hpp"
#include "yaml_document.hpp"
#include "yaml_fields.hpp"

namespace sagaflow::simulation {

namespace {

using flow::detail::Field;
using flow::detail::MapReader;
using flow::detail::Reporter;
using flow::detail::YamlNode;

// The step names a case may name, by what it names them for.
struct StepNames {
  std::vector<std::string> replied;      // steps that send commands (each_event included)
  std::vector<std::string> compensated;  // steps with a compensation
  std::vector<std::string> all;
};

StepNames step_names(const Plan& plan) {
  StepNames names;
  for (const auto& node : plan.nodes()) {
    const auto& step = *node.step;
    names.all.push_back(step.name);
    const bool sends = step.kind == flow::StepKind::command ||
                       step.kind == flow::StepKind::foreach ||
                       (step.kind == flow::StepKind::wait && step.wait.each_event);
    if (sends) names.replied.push_back(step.name);
    if (step.compensation) names.compensated.push_back(step.name);
  }
  return names;
}

class CaseReader {
 public:
  CaseReader(Reporter& reporter, const Plan* plan) : reporter_(reporter), plan_(plan) {
    if (plan_) names_ = step_names(*plan_);
  }

  CaseFile read(const YamlNode& root) {
    CaseFile file;
    MapReader map(root, "the case file",
                  {"flow", "input", "replies", "compensation_replies", "cases"}, reporter_);
    if (!map.is_map()) return file;
    if (auto field = map.get("flow")) {
      if (auto name = flow::detail::read_name(*field, false, reporter_)) {
        file.flow = *name;
        if (plan_ && file.flow != plan_->flow().name) {
          reporter_.error(field->value_pos(), "the cases are for flow '" + file.flow +
                                                  "', the flow file is '" + plan_->flow().name +
                                                  "'");
        }
      }
    }
    json::value input = json::object{};
    if (auto field = map.get("input")) input = read_input(*field);
    ReplyScripts replies;
    ReplyScripts compensation_replies;
    if (auto field = map.get("replies")) replies = read_scripts(*field, false);
    if (auto field = map.get("compensation_replies")) {
      compensation_replies = read_scripts(*field, true);
    }
    auto cases = map.require("cases");
    if (!cases) return file;
    if (!cases->value->is_sequence() || cases->value->size() == 0) {
      reporter_.error(cases->value_pos(),
                      "'cases' must be a non-empty list, found " + describe(*cases->value));
      return file;
    }
    for (const YamlNode* element : cases->value->elements()) {
      auto test = read_case(*element, input);
      // File-wide scripts answer what a case does not script itself.
      test.replies.insert(replies.begin(), replies.end());
      test.compensation_replies.insert(compensation_replies.begin(), compensation_replies.end());
      if (std::any_of(file.cases.begin(), file.cases.end(),
                      [&](const TestCase& other) { return other.name == test.name; })) {
        reporter_.error(element->pos(), "duplicate case name '" + test.name + "'");
      }
      file.cases.push_back(std::move(test));
    }
    return file;
  }

 private:
  TestCase read_case(const YamlNode& node, const json::value& input) {
    TestCase test;
    test.input = input;
    test.line = node.pos().line;
    test.column = node.pos().column;
    MapReader map(
        node, "a case",
        {"name", "input", "replies", "compensation_replies", "events", "cancel", "expect"},
        reporter_);
    if (!map.is_map()) return test;
    if (auto field = map.require("name")) {
      if (auto name = flow::detail::read_string(*field, reporter_)) test.name = *name;
    }
    if (auto field = map.get("input")) test.input = read_input(*field);
    if (auto field = map.get("replies")) test.replies = read_scripts(*field, false);
    if (auto field = map.get("compensation_replies")) {
      test.compensation_replies = read_scripts(*field, true);
    }
    if (auto field = map.get("events")) read_events(*field, test.actions);
    if (auto field = map.get("cancel")) read_cancel(*field, test.actions);
    std::stable_sort(test.actions.begin(), test.actions.end(),
                     [](const ScriptedAction& a, const ScriptedAction& b) { return a.at < b.at; });
    if (auto field = map.require("expect")) test.expect = read_expectation(*field);
    return test;
  }

  json::value read_input(const Field& field) {
    if (!field.value->is_map()) {
      reporter_.error(field.value_pos(), "'input' must be a map, found " + describe(*field.value));
      return json::object{};
    }
    return to_json(*field.value);
  }

  ReplyScripts read_scripts(const Field& field, bool compensations) {
    ReplyScripts scripts;
    if (!field.value->is_map()) {
      reporter_.error(field.value_pos(), "'" + field.name() +
                                             "' must be a map of step names to replies, found " +
                                             describe(*field.value));
      return scripts;
    }
    for (const auto& entry : field.value->entries()) {
      const std::string& key = entry.key->scalar();
      check_activity(*entry.key, compensations);
      ReplyScript script;
      if (entry.value->is_sequence()) {
        if (entry.value->size() == 0) {
          reporter_.error(Field{entry.key, entry.value}.value_pos(),
                          "the replies of '" + key + "' must not be empty");
        }
        for (const YamlNode* reply : entry.value->elements()) script.push_back(read_reply(*reply));
      } else {
        script.push_back(read_reply(*entry.value));
      }
      scripts[key] = std::move(script);
    }
    return scripts;
  }

  // `step` or `step[index]`, naming a step that sends commands (or has a compensation).
  void check_activity(const YamlNode& key, bool compensations) {
    std::string_view name = key.scalar();
    if (auto bracket = name.find('['); bracket != std::string_view::npos) {
      const auto index = name.substr(bracket + 1);
      const bool digits =
          index.size() >= 2 && index.back() == ']' &&
          std::all_of(index.begin(), index.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) {
        reporter_.error(key.pos(), "'" + std::string(name) +
                                       "' is not a step name or STEP[INDEX] (an item's index)");
        return;
      }
      name = name.substr(0, bracket);
    }
    if (!plan_) return;
    const auto& known = compensations ? names_.compensated : names_.replied;
    if (std::find(known.begin(), known.end(), name) != known.end()) return;
    const bool exists = std::find(names_.all.begin(), names_.all.end(), name) != names_.all.end();
    if (exists) {
      reporter_.error(key.pos(), "step '" + std::string(name) + "' " +
                                     (compensations ? "has no compensation to answer"
                                                    : "sends no command to answer"));
      return;
    }
    reporter_.error(key.pos(),
                    "unknown step '" + std::string(name) + "'" + suggestion(name, known));
  }

  std::string suggestion(std::string_view word, const std::vector<std::string>& known) const {
    std::vector<std::string_view> candidates(known.begin(), known.end());
    return flow::did_you_mean(word, candidates);
  }

  ScriptedReply read_reply(const YamlNode& node) {
    ScriptedReply reply;
    constexpr std::string_view kForms =
        "a reply is 'success', 'no_answer', {success: PAYLOAD}, {business_failure: CODE} or "
        "{technical_error: CODE}";
    if (node.is_scalar() && !node.quoted() &&
        (node.scalar() == "success" || node.scalar() == "no_answer")) {
      if (node.scalar() == "no_answer") reply.kind = ScriptedReply::Kind::no_answer;
      return reply;
    }
    if (!node.is_map() || node.size() != 1) {
      reporter_.error(node.pos(), std::string(kForms) + ", found " + describe(node));
      return reply;
    }
    MapReader map(node, "a reply", {"success", "business_failure", "technical_error"}, reporter_);
    const auto& entry = node.entries().front();
    const Field field{entry.key, entry.value};
    if (field.name() == "success") {
      if (!field.value->is_null()) reply.payload = to_json(*field.value);
    } else if (field.name() == "business_failure" || field.name() == "technical_error") {
      reply.kind = field.name() == "business_failure" ? ScriptedReply::Kind::business_failure
                                                      : ScriptedReply::Kind::technical_error;
      if (auto code = flow::detail::read_name(field, true, reporter_)) reply.code = *code;
    }
    return reply;
  }

  void read_events(const Field& field, std::vector<ScriptedAction>& actions) {
    if (!field.value->is_sequence()) {
      reporter_.error(field.value_pos(),
                      "'events' must be a list, found " + describe(*field.value));
      return;
    }
    for (const YamlNode* element : field.value->elements()) {
      MapReader map(*element, "an event", {"at", "event", "payload", "id"}, reporter_);
      if (!map.is_map()) continue;
      ScriptedAction action;
      action.line = element->pos().line;
      if (auto at = map.get("at")) {
        action.at = flow::detail::read_duration(*at, false, reporter_).value_or(Duration{0});
      }
      if (auto type = map.require("event")) {
        action.type = flow::detail::read_name(*type, true, reporter_).value_or("");
      }
      if (auto payload = map.get("payload")) action.payload = to_json(*payload->value);
      if (auto id = map.get("id"))
        action.id = flow::detail::read_string(*id, reporter_).value_or("");
      actions.push_back(std::move(action));
    }
  }

  void read_cancel(const Field& field, std::vector<ScriptedAction>& actions) {
    MapReader map(*field.value, "'cancel'", {"at", "reason"}, reporter_);
    if (!map.is_map()) return;
    ScriptedAction action;
    action.cancel = true;
    action.line = field.value->pos().line;
    action.type = "cancelled by the test";
    if (auto at = map.require("at")) {
      action.at = flow::detail::read_duration(*at, false, reporter_).value_or(Duration{0});
    }
    if (auto reason = map.get("reason")) {
      action.type = flow::detail::read_string(*reason, reporter_).value_or(action.type);
    }
    actions.push_back(std::move(action));
  }

  Expectation read_expectation(const Field& field) {
    Expectation expect;
    MapReader map(*field.value, "'expect'",
                  {"status", "commands", "compensations", "outputs", "events"}, reporter_);
    if (!map.is_map()) return expect;
    if (field.value->size() == 0) {
      reporter_.error(field.value_pos(),
                      "'expect' must expect something: status, commands, "
                      "compensations, outputs or events");
    }
    if (auto status = map.get("status")) {
      if (auto name = flow::detail::read_name(*status, false, reporter_)) {
        if (!status_from_string(*name)) {
          reporter_.error(status->value_pos(),
                          "unknown status '" + *name +
                              "'; expected one of: pending, running, waiting, compensating, "
                              "completed, compensated, failed, cancelled");
        }
        expect.status = *name;
      }
    }
    if (auto commands = map.get("commands")) {
      expect.commands = flow::detail::read_name_list(*commands, true, reporter_);
      if (!expect.commands) expect.commands.emplace();
    }
    if (auto compensations = map.get("compensations")) {
      expect.compensations = flow::detail::read_name_list(*compensations, true, reporter_);
      if (!expect.compensations) expect.compensations.emplace();
    }
    if (auto outputs = map.get("outputs")) read_outputs(*outputs, expect);
    if (auto events = map.get("events")) read_expected_events(*events, expect);
    return expect;
  }

  void read_outputs(const Field& field, Expectation& expect) {
    if (!field.value->is_map()) {
      reporter_.error(
          field.value_pos(),
          "'outputs' must be a map of step names to results, found " + describe(*field.value));
      return;
    }
    for (const auto& entry : field.value->entries()) {
      const std::string& step = entry.key->scalar();
      if (plan_ && plan_->find(step) < 0) {
        reporter_.error(entry.key->pos(),
                        "unknown step '" + step + "'" + suggestion(step, names_.all));
      }
      expect.outputs[step] = to_json(*entry.value);
    }
  }

  void read_expected_events(const Field& field, Expectation& expect) {
    if (!field.value->is_sequence()) {
      reporter_.error(field.value_pos(),
                      "'events' must be a list, found " + describe(*field.value));
      return;
    }
    auto& events = expect.events.emplace();
    for (const YamlNode* element : field.value->elements()) {
      ExpectedEvent event;
      const Field item{field.key, element};
      if (element->is_scalar()) {
        event.type = flow::detail::read_name(item, true, reporter_).value_or("");
      } else {
        MapReader map(*element, "an expected event", {"event", "payload"}, reporter_);
        if (!map.is_map()) continue;
        if (auto type = map.require("event")) {
          event.type = flow::detail::read_name(*type, true, reporter_).value_or("");
        }
        if (auto payload = map.get("payload")) event.payload = to_json(*payload->value);
      }
      events.push_back(std::move(event));
    }
  }

  // A YAML value as JSON: maps, lists and scalars (YAML 1.2 core rules, as in flow mappings;
  // a `$` is an ordinary character here).
  json::value to_json(const YamlNode& node) {
    if (node.is_map()) {
      json::object out;
      for (const auto& entry : node.entries()) out[entry.key->scalar()] = to_json(*entry.value);
      return out;
    }
    if (node.is_sequence()) {
      json::array out;
      for (const YamlNode* element : node.elements()) out.push_back(to_json(*element));
      return out;
    }
    return flow::detail::scalar_to_json(node);
  }

  Reporter& reporter_;
  const Plan* plan_;
  StepNames names_;
};

CaseFileResult file_problem(const std::string& file, std::string message) {
  CaseFileResult result;
  result.diagnostics.push_back({file, 0, 0, std::move(message)});
  return result;
}

}  // namespace

CaseFileResult load_case_text(std::string_view text, const std::string& file_name,
                              const Plan* plan) {
  Reporter reporter(file_name, text);
  CaseFileResult result;
  if (auto stream = flow::detail::parse_document(text, flow::LoadLimits{}, reporter)) {
    result.cases = CaseReader(reporter, plan).read(*stream->documents[0]);
  }
  result.cases.file = file_name;
  result.diagnostics = reporter.take();
  return result;
}

CaseFileResult load_case_file(const std::filesystem::path& path, const Plan* plan) {
  const std::string name = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in || !std::filesystem::is_regular_file(path)) {
    return file_problem(name, "cannot read the file");
  }
  std::ostringstream content;
  content << in.rdbuf();
  return load_case_text(content.str(), name, plan);
}

}  // namespace sagaflow::simulation
