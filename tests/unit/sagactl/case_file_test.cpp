// The case files of `sagactl test` (sagaflow/simulation/case_file.hpp): what each key reads as,
// and every bad file reported at its line and column, as a bad flow file is.
#include <doctest/doctest.h>

#include <memory>

#include "sagaflow/flow/loader.hpp"
#include "sagaflow/simulation/case_file.hpp"

using namespace sagaflow;
using simulation::ScriptedReply;

namespace {

std::shared_ptr<const Plan> points_charge() {
  auto loaded =
      flow::load_flow_file(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/points_charge.yaml");
  REQUIRE(loaded.ok());
  return std::make_shared<const Plan>(loaded.flow);
}

simulation::CaseFileResult load(std::string_view text) {
  static const auto plan = points_charge();
  return simulation::load_case_text(text, "c.yaml", plan.get());
}

// The diagnostics as "line:col: message", one per line.
std::string problems(const simulation::CaseFileResult& result) {
  std::string out;
  for (const auto& d : result.diagnostics) {
    out += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("a case file reads its input, replies by attempt, events, cancel and expectations") {
  auto result = load(R"(flow: points_charge
input: { user_id: u1, amount: 5, method: m }
replies:
  charge: { success: { payment_id: p1 } }
cases:
  - name: first
    input: { user_id: u2, amount: 7, method: m }
    replies:
      add_points: [{ technical_error: Unavailable }, no_answer, { business_failure: Frozen }, success]
    compensation_replies:
      charge[0]: { technical_error: Down }
    events:
      - { at: 2m, event: payment.late, payload: { id: 1 }, id: e-1 }
      - { at: 1s, event: payment.early }
    cancel: { at: 90s, reason: bored }
    expect:
      status: compensated
      commands: [payment_gateway.charge, points.add]
      compensations: []
      outputs: { charge: { payment_id: p1 }, add_points: null }
      events: [points.charged, { event: x.y, payload: { a: [1, "2", true] } }]
)");
  INFO(problems(result));
  REQUIRE(result.ok());
  const auto& file = result.cases;
  CHECK(file.flow == "points_charge");
  REQUIRE(file.cases.size() == 1);
  const auto& test = file.cases[0];
  CHECK(test.name == "first");
  CHECK(test.line == 6);
  CHECK(test.input == json::value{{"user_id", "u2"}, {"amount", 7}, {"method", "m"}});
  // The file's replies answer what the case does not script.
  REQUIRE(test.replies.at("charge").size() == 1);
  CHECK(test.replies.at("charge")[0].payload == json::value{{"payment_id", "p1"}});
  const auto& add = test.replies.at("add_points");
  REQUIRE(add.size() == 4);
  CHECK(add[0].kind == ScriptedReply::Kind::technical_error);
  CHECK(add[0].code == "Unavailable");
  CHECK(add[1].kind == ScriptedReply::Kind::no_answer);
  CHECK(add[2].kind == ScriptedReply::Kind::business_failure);
  CHECK(add[3].kind == ScriptedReply::Kind::success);
  CHECK(add[3].payload == json::object{});
  CHECK(test.compensation_replies.at("charge[0]")[0].code == "Down");
  // Actions in the order of their time.
  REQUIRE(test.actions.size() == 3);
  CHECK(test.actions[0].type == "payment.early");
  CHECK(test.actions[0].at == std::chrono::seconds(1));
  CHECK(test.actions[1].cancel);
  CHECK(test.actions[1].type == "bored");
  CHECK(test.actions[2].id == "e-1");
  CHECK(test.actions[2].payload == json::value{{"id", 1}});
  CHECK(test.expect.status == "compensated");
  CHECK(test.expect.commands == std::vector<std::string>{"payment_gateway.charge", "points.add"});
  CHECK(test.expect.compensations == std::vector<std::string>{});
  CHECK(test.expect.outputs.at("add_points").is_null());
  REQUIRE(test.expect.events->size() == 2);
  CHECK(!(*test.expect.events)[0].payload);
  CHECK((*test.expect.events)[1].payload == json::value{{"a", json::array{1, "2", true}}});
}

TEST_CASE("a bad case file gets every problem at its line and column") {
  auto result = load(R"(flow: order_payment
cases:
  - name: one
    replies:
      chrage: success
      points_charged: success
      add_points[x]: success
      charge: [{ fail: Code }, maybe, []]
    compensation_replies:
      add_points: success
      points_charged: success
    events:
      - { at: 5, event: e }
      - { event: "bad name" }
    cancel: { reason: r }
    expect:
      status: done
      outputs: { add_point: 1 }
      commands: not-a-list
      extra: 1
  - name: one
    expect: {}
  - nme: two
    expect: { status: completed }
)");
  CHECK(problems(result) ==
        "1:7: the cases are for flow 'order_payment', the flow file is 'points_charge'\n"
        "5:7: unknown step 'chrage'; did you mean 'charge'?\n"
        "6:7: step 'points_charged' sends no command to answer\n"
        "7:7: 'add_points[x]' is not a step name or STEP[INDEX] (an item's index)\n"
        "8:18: unknown key 'fail' in a reply; expected one of: success, business_failure, "
        "technical_error\n"
        "8:32: a reply is 'success', 'no_answer', {success: PAYLOAD}, {business_failure: CODE} "
        "or {technical_error: CODE}, found 'maybe'\n"
        "8:39: a reply is 'success', 'no_answer', {success: PAYLOAD}, {business_failure: CODE} "
        "or {technical_error: CODE}, found an empty list\n"
        "11:7: step 'points_charged' has no compensation to answer\n"
        "13:16: 'at': duration '5' needs a unit (ms, s, m, h or d), like 250ms, 5s, 10m, 2h, "
        "3d or 1h30m\n"
        "14:18: 'event' must be a name of letters, digits, '_', '-', '.'; found 'bad name'\n"
        "15:13: missing required key 'at' in 'cancel'\n"
        "17:15: unknown status 'done'; expected one of: pending, running, waiting, "
        "compensating, completed, compensated, failed, cancelled\n"
        "18:18: unknown step 'add_point'; did you mean 'add_points'?\n"
        "19:17: 'commands' must be a list, found 'not-a-list'\n"
        "20:7: unknown key 'extra' in 'expect'; expected one of: status, commands, "
        "compensations, outputs, events\n"
        "21:5: duplicate case name 'one'\n"
        "22:13: 'expect' must expect something: status, commands, compensations, outputs or "
        "events\n"
        "23:5: missing required key 'name' in a case\n"
        "23:5: unknown key 'nme' in a case; did you mean 'name'?\n");
}

TEST_CASE("a case file that is not YAML, or has no cases, says so") {
  CHECK(problems(load("cases: [\n")).find("1:") != std::string::npos);
  CHECK(problems(load("flow: points_charge\n")) ==
        "1:1: missing required key 'cases' in the case file\n");
  CHECK(problems(load("cases: []\n")) ==
        "1:8: 'cases' must be a non-empty list, found an empty list\n");
  CHECK(problems(load("- name: x\n")) == "1:1: the case file must be a map, found a list\n");
  auto tab = load("cases:\n\t- name: x\n");
  CHECK(problems(tab).find("tab") != std::string::npos);
  auto missing = simulation::load_case_file("/nonexistent/c.yaml");
  REQUIRE(missing.diagnostics.size() == 1);
  CHECK(missing.diagnostics[0].to_string() == "/nonexistent/c.yaml: error: cannot read the file");
}
