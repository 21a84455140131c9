#pragma once
// A flow's test cases, as `sagactl test FLOW CASES` reads them (docs/flow-tooling.md, "sagactl
// test"): per case, the saga's input, what each command answers by step and attempt, the outside
// events with the time they arrive, and what is expected of the run. Read with the flow
// loader's YAML reader, so a bad case file gets `file:line:col: error: message` as a bad flow
// file does.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::simulation {

// One attempt's answer.
struct ScriptedReply {
  enum class Kind { success, business_failure, technical_error, no_answer };
  Kind kind = Kind::success;
  json::value payload = json::object{};  // success: the reply's body
  std::string code;                      // the failures' error code
};

// Attempt n gets the n-th reply; the last one also answers every later attempt.
using ReplyScript = std::vector<ScriptedReply>;

// Scripts by activity: a step name (every item of a foreach, every each_event command of a
// wait) or an activity key with its index (`assign[1]`), which wins over the step name.
using ReplyScripts = std::map<std::string, ReplyScript, std::less<>>;

// Something that happens at a time after the saga started: an outside event, or a cancel.
struct ScriptedAction {
  Duration at{0};
  bool cancel = false;  // a cancel by an operator (`reason` is the event's type field)
  std::string type;     // the event's type; the cancel's reason
  json::value payload = json::object{};
  std::string id;  // the event's message id; empty: one is made up
  int line = 0;
};

struct ExpectedEvent {
  std::string type;
  std::optional<json::value> payload;  // compared only when given
};

// Only what is given is checked.
struct Expectation {
  std::optional<std::string> status;
  std::optional<std::vector<std::string>> commands;         // "service.name", retries included
  std::optional<std::vector<std::string>> compensations;    // "service.name"
  std::map<std::string, json::value, std::less<>> outputs;  // step -> its result
  std::optional<std::vector<ExpectedEvent>> events;
};

struct TestCase {
  std::string name;
  int line = 0;  // where the case starts in its file
  int column = 0;
  json::value input = json::object{};
  ReplyScripts replies;
  ReplyScripts compensation_replies;
  std::vector<ScriptedAction> actions;  // in the order of `at`
  Expectation expect;
};

struct CaseFile {
  std::string file;
  std::string flow;  // the flow the cases are for; empty when not said
  std::vector<TestCase> cases;
};

struct CaseFileResult {
  CaseFile cases;
  std::vector<flow::Diagnostic> diagnostics;
  bool ok() const { return diagnostics.empty(); }
};

// `plan`, when given, checks the names the cases use (steps, the flow's name) against its flow.
CaseFileResult load_case_text(std::string_view text, const std::string& file_name,
                              const Plan* plan = nullptr);
CaseFileResult load_case_file(const std::filesystem::path& path, const Plan* plan = nullptr);

}  // namespace sagaflow::simulation
