// every_construct.yaml loads into the model with every field where the file puts it.
#include <doctest/doctest.h>

#include <algorithm>

#include "flow_files.hpp"
#include "sagaflow/flow/loader.hpp"

namespace flow = sagaflow::flow;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

const flow::Flow& every_construct() {
  static const auto result = flow::load_flow_file(flow_test::flows_dir() / "every_construct.yaml");
  INFO(flow_test::all_diagnostics(result));
  REQUIRE(result.ok());
  return *result.flow;
}

const flow::Step& step(const std::vector<flow::Step>& steps, const std::string& name) {
  auto found =
      std::find_if(steps.begin(), steps.end(), [&](const flow::Step& s) { return s.name == name; });
  REQUIRE(found != steps.end());
  return *found;
}

}  // namespace

TEST_CASE("flow header: name, version, description, timeout, file") {
  const auto& f = every_construct();
  CHECK(f.name == "every_construct");
  CHECK(f.version == 3);
  CHECK(f.description == "Book a slot, pay for it, certify and notify");
  CHECK(f.timeout == std::chrono::hours(2));
  CHECK(f.file.ends_with("every_construct.yaml"));
  CHECK(f.steps.size() == 8);
}

TEST_CASE("retention: an age or never per final status, unset ones left to the daemon") {
  const auto& r = every_construct().retention;
  CHECK(r.completed == flow::KeepFor{.forever = false, .age = std::chrono::days(7)});
  CHECK(r.compensated == flow::KeepFor{.forever = false, .age = std::chrono::days(90)});
  CHECK(r.cancelled == flow::KeepFor{.forever = true});
  const auto bare = flow::load_flow_text(
      "name: f\nversion: 1\nretention: { completed: 36h }\n"
      "steps:\n  - name: a\n    publish: { event: e }\n",
      "f.yaml");
  REQUIRE(bare.ok());
  CHECK(bare.flow->retention.completed ==
        flow::KeepFor{.forever = false, .age = std::chrono::hours(36)});
  CHECK_FALSE(bare.flow->retention.compensated.has_value());
  CHECK_FALSE(bare.flow->retention.cancelled.has_value());
}

TEST_CASE("retention ages as the daemon's settings write them") {
  std::string error;
  CHECK(flow::parse_keep_for("never", error) == flow::KeepFor{.forever = true});
  CHECK(flow::parse_keep_for("1d12h", error) ==
        flow::KeepFor{.forever = false, .age = std::chrono::hours(36)});
  CHECK(flow::parse_keep_for("0s", error) == flow::KeepFor{.forever = false, .age = {}});
  CHECK_FALSE(flow::parse_keep_for("7 days", error).has_value());
  CHECK(error.find("or write 'never'") != std::string::npos);
  CHECK(flow::format_keep_for({.forever = false, .age = std::chrono::days(30)}) == "30d");
  CHECK(flow::format_keep_for({.forever = true}) == "never");
}

TEST_CASE("input contract: short and long forms, types, required") {
  const auto& input = every_construct().input.fields;
  CHECK(every_construct().input.declared);
  CHECK_FALSE(every_construct().input.additional_fields);
  REQUIRE(input.size() == 6);
  CHECK(input[0].name == "user_id");
  CHECK(input[0].type == flow::FieldType::string);
  CHECK(input[0].required);
  CHECK(input[1].name == "slot_id");
  CHECK(input[1].type == flow::FieldType::string);
  CHECK(input[1].required);
  CHECK(input[2].type == flow::FieldType::number);
  CHECK(input[3].type == flow::FieldType::array);
  CHECK(input[4].name == "coupon");
  CHECK_FALSE(input[4].required);
  CHECK(input[5].type == flow::FieldType::boolean);
}

TEST_CASE("command step: command, output, retry, timeout, compensation, position") {
  const auto& s = step(every_construct().steps, "create_booking");
  CHECK(s.kind == flow::StepKind::command);
  CHECK(s.pos.line == 20);
  CHECK(s.pos.column == 5);
  CHECK(s.command.type() == "booking.create");
  const json::value input = json::parse(R"({"user_id": "u1", "slot_id": "s9"})");
  flow::Scope scope;
  scope.input = &input;
  CHECK(s.command.input.render(scope) ==
        json::parse(R"({"user": "u1", "slot": "s9", "note": "$literal", "tags": ["web", 2]})"));
  REQUIRE(s.output.has_value());
  const json::value reply = json::parse(R"({"id": "b-1", "status": "pending", "extra": 1})");
  scope.reply = &reply;
  CHECK(s.output->render(scope) == json::parse(R"({"booking_id": "b-1", "status": "pending"})"));
  CHECK(s.retry.max_attempts == 3);
  CHECK(s.retry.initial_delay == milliseconds(100));
  CHECK(s.retry.multiplier == doctest::Approx(2.0));
  CHECK(s.retry.max_delay == seconds(2));
  CHECK(s.retry.non_retryable == std::vector<std::string>{"SlotUnavailable"});
  CHECK(s.timeout == seconds(5));
  REQUIRE(s.compensation.has_value());
  REQUIRE(s.compensation->variants.size() == 1);
  CHECK_FALSE(s.compensation->variants[0].when.has_value());
  CHECK(s.compensation->variants[0].command.type() == "booking.cancel");
  CHECK(s.compensation->retry.max_attempts == 5);  // the compensation default
  CHECK(s.compensation->timeout == seconds(30));
  CHECK_FALSE(s.when.has_value());
  CHECK_FALSE(s.irreversible);
  CHECK_FALSE(s.pivot);
}

TEST_CASE("when, and a single compensation with its own retry and timeout") {
  const auto& s = step(every_construct().steps, "apply_coupon");
  REQUIRE(s.when.has_value());
  const json::value with_coupon = json::parse(R"({"coupon": "C1"})");
  const json::value rushed = json::parse(R"({"coupon": "C1", "rush": true})");
  flow::Scope scope;
  scope.input = &with_coupon;
  CHECK(s.when->test(scope));
  scope.input = &rushed;
  CHECK_FALSE(s.when->test(scope));
  CHECK(s.output == std::nullopt);
  CHECK(s.timeout == seconds(30));  // the default per attempt
  CHECK(s.retry.max_attempts == 1);
  REQUIRE(s.compensation.has_value());
  CHECK(s.compensation->retry.max_attempts == 10);
  CHECK(s.compensation->timeout == minutes(1));
  CHECK(s.compensation->variants[0].command.type() == "coupons.release");
}

TEST_CASE("outcome-dependent compensation: the first variant whose when holds") {
  const auto& s = step(every_construct().steps, "hold_payment");
  REQUIRE(s.compensation.has_value());
  const auto& variants = s.compensation->variants;
  REQUIRE(variants.size() == 2);
  REQUIRE(variants[0].when.has_value());
  CHECK(variants[0].command.type() == "payments.void");
  CHECK_FALSE(variants[1].when.has_value());
  CHECK(variants[1].command.type() == "payments.release");
  CHECK(variants[0].pos.line == 43);
  CHECK(variants[1].pos.line == 47);
  json::object steps;
  steps["hold_payment"] = json::parse(R"({"status": "captured", "authorization_id": "a-1"})");
  flow::Scope scope;
  scope.steps = &steps;
  CHECK(variants[0].when->test(scope));
  CHECK(variants[0].command.input.render(scope) == json::parse(R"({"authorization": "a-1"})"));
}

TEST_CASE("publish step: event and payload") {
  const auto& s = step(every_construct().steps, "announce");
  CHECK(s.kind == flow::StepKind::publish);
  CHECK(s.event == "booking.created");
  json::object steps;
  steps["create_booking"] = json::parse(R"({"booking_id": "b-1"})");
  const json::value saga = json::parse(R"({"id": "s-1"})");
  flow::Scope scope;
  scope.steps = &steps;
  scope.saga = &saga;
  CHECK(s.payload.render(scope) == json::parse(R"({"booking_id": "b-1", "saga": "s-1"})"));
  CHECK_FALSE(s.compensation.has_value());
}

TEST_CASE("trigger: the event that starts a saga, its condition and its idempotency key") {
  const auto& flow = every_construct();
  REQUIRE(flow.trigger.has_value());
  CHECK(flow.trigger->event == "slot.requested");
  REQUIRE(flow.trigger->when.has_value());
  REQUIRE(flow.trigger->key.has_value());
  const json::value event = json::parse(R"({"user_id": "u1", "request_id": "r-9"})");
  const json::value anonymous = json::parse(R"({"request_id": "r-10"})");
  flow::Scope scope{.event = &event};
  CHECK(flow.trigger->when->test(scope));
  CHECK(*flow.trigger->key->resolve(scope) == "r-9");
  scope.event = &anonymous;
  CHECK_FALSE(flow.trigger->when->test(scope));
}

TEST_CASE("wait step: events, correlation, until, stale, failure events, timeout, output") {
  const auto& s = step(every_construct().steps, "await_payment");
  CHECK(s.kind == flow::StepKind::wait);
  const auto& w = s.wait;
  CHECK(w.events == std::vector<std::string>{"payment.succeeded", "payment.updated"});
  CHECK(w.correlate.text() == "$steps.hold_payment.authorization_id");
  CHECK(w.key.root == flow::PathRoot::event);
  CHECK(w.key.segments == std::vector<std::string>{"authorization_id"});
  REQUIRE(w.until.has_value());
  REQUIRE(w.stale.has_value());
  CHECK(w.failure_events == std::vector<std::string>{"payment.failed"});
  CHECK(w.on_failure_event == flow::FailureEventAction::keep_waiting);
  CHECK(w.timeout == minutes(30));
  REQUIRE(w.each_event.has_value());
  CHECK(w.each_event->command.type() == "bookings.record_payment");
  CHECK(w.each_event->retry.max_attempts == 4);
  CHECK(w.each_event->retry.initial_delay == milliseconds(500));
  CHECK(w.each_event->timeout == seconds(3));

  json::object steps;
  steps["await_payment"] = json::parse(R"({"paymentVersion": 4})");
  const json::value old_event =
      json::parse(R"({"paymentVersion": 3, "isOrderSettled": true, "outstandingAmount": 0})");
  const json::value settling = json::parse(
      R"({"paymentVersion": 5, "isOrderSettled": true, "outstandingAmount": 0.0,
          "capturedAmount": 90})");
  flow::Scope scope;
  scope.steps = &steps;
  scope.event = &old_event;
  CHECK(w.stale->test(scope));
  scope.event = &settling;
  CHECK_FALSE(w.stale->test(scope));
  CHECK(w.until->test(scope));
  REQUIRE(s.output.has_value());
  CHECK(s.output->render(scope) == json::parse(R"({"paymentVersion": 5, "captured": 90})"));
}

TEST_CASE("parallel branches hold their steps, foreach reads items and renders per item") {
  const auto& s = step(every_construct().steps, "setup");
  CHECK(s.kind == flow::StepKind::parallel);
  REQUIRE(s.branches.size() == 2);
  REQUIRE(s.branches[0].size() == 2);
  CHECK(s.branches[0][0].name == "open_account");
  CHECK(s.branches[0][1].kind == flow::StepKind::publish);
  REQUIRE(s.branches[1].size() == 1);

  const auto& each = s.branches[1][0];
  CHECK(each.kind == flow::StepKind::foreach);
  CHECK(each.items.text == "$input.lines");
  CHECK(each.command.type() == "certificates.authorize");
  CHECK(each.retry.max_attempts == 2);
  CHECK(each.timeout == seconds(10));
  const json::value item = json::parse(R"({"orderLineId": "L7"})");
  const json::value reply = json::parse(R"({"certificate_id": "c-3"})");
  flow::Scope scope;
  scope.item = &item;
  scope.reply = &reply;
  CHECK(each.command.input.render(scope) == json::parse(R"({"line": "L7"})"));
  CHECK(each.output->render(scope) == json::parse(R"({"line": "L7", "certificate": "c-3"})"));
  REQUIRE(each.compensation.has_value());
  CHECK(each.compensation->variants.size() == 1);
  CHECK(each.compensation->retry.max_attempts == 7);
  CHECK(each.compensation->retry.initial_delay == seconds(1));
  CHECK(each.compensation->timeout == seconds(20));
}

TEST_CASE("pivot and irreversible steps, a whole-value input mapping") {
  const auto& steps = every_construct().steps;
  const auto& confirm = step(steps, "confirm");
  CHECK(confirm.pivot);
  CHECK(confirm.irreversible);
  CHECK_FALSE(confirm.compensation.has_value());
  const auto& send = step(steps, "send_to_platform");
  CHECK(send.irreversible);
  CHECK_FALSE(send.pivot);
  CHECK(send.retry.max_attempts == 20);
  CHECK(send.retry.multiplier == doctest::Approx(1.5));
  CHECK(send.retry.max_delay == minutes(1));
  json::object data;
  data["create_booking"] = json::parse(R"({"booking_id": "b-1"})");
  flow::Scope scope;
  scope.steps = &data;
  CHECK(send.command.input.render(scope) == json::parse(R"({"booking_id": "b-1"})"));
}

TEST_CASE("on_compensated: forward steps of the failure path, irreversible by nature") {
  const auto& f = every_construct();
  REQUIRE(f.on_compensated.size() == 2);
  const auto& tell = f.on_compensated[0];
  CHECK(tell.name == "tell_customer");
  CHECK(tell.kind == flow::StepKind::command);
  CHECK(tell.command.type() == "notifications.send_email");
  CHECK(tell.irreversible);
  CHECK_FALSE(tell.compensation.has_value());
  CHECK(tell.retry.max_attempts == 3);
  CHECK(f.on_compensated[1].kind == flow::StepKind::publish);
  CHECK(f.on_compensated[1].event == "booking.failed");
}
