// An operator's repairs of a parked saga: skip a failed step with a given output, edit the
// saga's input and retry. Each is checked before anything changes and recorded with who and why.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/flow/output_reads.hpp"

using namespace sagaflow;
using sagaflow::testing::EngineHarness;

namespace {

// Past the pivot `charge`, a failure parks the saga. `notify` reads book_courier's tracking;
// nothing reads its eta.
constexpr std::string_view kShipping = R"(
name: shipping
version: 1
input:
  address: string
  note: { type: string, required: false }
steps:
  - name: charge
    pivot: true
    command: { service: billing, name: charge, input: {} }
    compensation: { service: billing, name: refund, input: {} }
  - name: book_courier
    retry: { max_attempts: 1 }
    command: { service: courier, name: book, input: { address: $input.address } }
    output: { tracking: $reply.tracking, eta: $reply.eta }
    compensation: { service: courier, name: cancel, input: { tracking: $steps.book_courier.tracking } }
  - name: notify
    irreversible: true
    command: { service: mail, name: send, input: { tracking: $steps.book_courier.tracking } }
)";

// Charged, then the courier refuses: parked on book_courier.
void park_on_courier(EngineHarness& h, json::value input = json::object{{"address", "Nowhere"}}) {
  h.start(std::move(input));
  h.ok(h.sent("billing.charge"));
  h.business_failure(h.sent("courier.book"), "UnknownAddress");
  REQUIRE(h.status() == Status::failed);
}

void skip(EngineHarness& h, SkipRequest request) {
  h.last = {};
  h.engine.skip(*h.saga, request, h.clock.now(), h.last);
}

void edit(EngineHarness& h, EditRequest request) {
  h.last = {};
  h.engine.edit(*h.saga, request, h.clock.now(), h.last);
}

json::object history_detail(const EngineHarness& h, std::string_view kind) {
  for (const auto& row : h.last.history) {
    if (row.kind == kind) return json::parse(row.detail).as_object();
  }
  FAIL("no history row " << kind);
  return {};
}

std::vector<std::string> problem_paths(const InvalidInput& refused) {
  std::vector<std::string> paths;
  for (const auto& p : refused.problems()) paths.push_back(p.path);
  return paths;
}

}  // namespace

TEST_CASE("the flow reads tracking of book_courier, not its eta") {
  auto flow = sagaflow::testing::load_test_flow(kShipping);
  CHECK(flow::output_fields_read(*flow, flow->steps[1]) == std::set<std::string>{"tracking"});
  CHECK(flow::output_fields_read(*flow, flow->steps[2]).empty());
}

TEST_CASE("a skipped step's output is what later steps read, and the saga goes on") {
  EngineHarness h(kShipping);
  park_on_courier(h);
  const auto courier_activity = h.saga->parked_activity;
  skip(h, SkipRequest{.saga_id = "s1",
                      .output = json::object{{"tracking", "T-42"}},
                      .note = {.actor = "alice", .reason = "booked by phone"}});
  CHECK(h.status() == Status::running);
  const auto notify = h.sent("mail.send");
  CHECK(json::parse(notify.body) == json::value(json::object{{"tracking", "T-42"}}));
  const auto detail = history_detail(h, "operator_skip");
  CHECK(detail.at("actor") == "alice");
  CHECK(detail.at("reason") == "booked by phone");
  CHECK(detail.at("output") == json::value(json::object{{"tracking", "T-42"}}));
  CHECK(h.last.history.front().step == "book_courier");
  CHECK(h.saga->steps.at("book_courier") == json::value(json::object{{"tracking", "T-42"}}));
  // Never compensated: what never happened has nothing to undo.
  CHECK(std::find(h.saga->completed.begin(), h.saga->completed.end(), courier_activity) ==
        h.saga->completed.end());
  h.reload();
  h.ok(h.sent("mail.send"));
  CHECK(h.status() == Status::completed);
}

TEST_CASE("a skip whose output lacks a field a later step reads is refused, naming it") {
  EngineHarness h(kShipping);
  park_on_courier(h);
  const auto version = h.saga->version;
  try {
    skip(h, SkipRequest{.saga_id = "s1", .output = json::object{{"eta", "tomorrow"}}});
    FAIL("the skip was accepted");
  } catch (const InvalidInput& refused) {
    CHECK(problem_paths(refused) == std::vector<std::string>{"output.tracking"});
    CHECK(std::string(refused.what()).find("$steps.book_courier.tracking") != std::string::npos);
  }
  try {
    skip(h, SkipRequest{.saga_id = "s1", .output = json::value("T-42")});
    FAIL("the skip was accepted");
  } catch (const InvalidInput& refused) {
    CHECK(problem_paths(refused) == std::vector<std::string>{"output"});
  }
  CHECK(h.saga->version == version);
  CHECK(h.status() == Status::failed);
}

TEST_CASE("a skip names a failed step of a saga parked going forward") {
  EngineHarness h(kShipping);
  h.start(json::object{{"address", "Main St 1"}});
  const auto charge = h.sent("billing.charge");
  CHECK_THROWS_AS(skip(h, SkipRequest{.saga_id = "s1", .output = json::object{}}), Refused);
  h.ok(charge);
  h.business_failure(h.sent("courier.book"), "UnknownAddress");
  const auto tracking = json::object{{"tracking", "T"}};
  CHECK_THROWS_AS(skip(h, SkipRequest{.saga_id = "s1", .step = "charge", .output = tracking}),
                  Refused);
  CHECK_THROWS_AS(skip(h, SkipRequest{.saga_id = "s1", .step = "nope", .output = tracking}),
                  InvalidInput);
  skip(h, SkipRequest{.saga_id = "s1", .step = "book_courier", .output = tracking});
  CHECK(h.status() == Status::running);
}

TEST_CASE("a saga parked while compensating cannot skip, and an edit retries its compensation") {
  EngineHarness h(R"(
name: hold
version: 1
input:
  card: string
steps:
  - name: hold
    command: { service: bank, name: hold, input: { card: $input.card } }
    compensation:
      service: bank
      name: release
      input: { card: $input.card }
      retry: { max_attempts: 1 }
  - name: check
    irreversible: true
    command: { service: risk, name: check, input: {} }
)");
  h.start(json::object{{"card", "c1"}});
  h.ok(h.sent("bank.hold"));
  h.business_failure(h.sent("risk.check"), "Fraud");
  h.technical_error(h.sent("bank.release"));
  REQUIRE(h.status() == Status::failed);
  CHECK_THROWS_AS(skip(h, SkipRequest{.saga_id = "s1", .output = json::object{}}), Refused);
  edit(h, EditRequest{.saga_id = "s1", .input = json::object{{"card", "c2"}}});
  CHECK(h.status() == Status::compensating);
  CHECK(json::parse(h.sent("bank.release").body) == json::value(json::object{{"card", "c2"}}));
}

TEST_CASE("an edit merges into the input, is checked against the contract, then retries") {
  EngineHarness h(kShipping);
  park_on_courier(h, json::object{{"address", "Nowhere"}, {"note", "ring twice"}});
  const auto version = h.saga->version;
  try {
    edit(h, EditRequest{.saga_id = "s1", .input = json::object{{"address", 5}}});
    FAIL("the edit was accepted");
  } catch (const InvalidInput& refused) {
    CHECK(problem_paths(refused) == std::vector<std::string>{"input.address"});
  }
  CHECK_THROWS_AS(edit(h, EditRequest{.saga_id = "s1",
                                      .input = json::object{{"note", "x"}},
                                      .mode = EditMode::replace}),
                  InvalidInput);  // replace: the required address is gone
  CHECK(h.saga->version == version);

  edit(h, EditRequest{.saga_id = "s1",
                      .input = json::object{{"address", "Main St 1"}, {"note", nullptr}},
                      .note = {.actor = "bob", .reason = "typo in the address"}});
  CHECK(h.history_kinds() ==
        std::vector<std::string>{"operator_edit", "operator_retry", "command_sent"});
  const auto detail = history_detail(h, "operator_edit");
  CHECK(detail.at("actor") == "bob");
  CHECK(detail.at("mode") == "merge");
  CHECK(detail.at("input_before").at("address") == "Nowhere");
  CHECK(h.saga->input == json::value(json::object{{"address", "Main St 1"}}));
  auto book = h.sent("courier.book");
  CHECK(json::parse(book.body).at("address") == "Main St 1");
  // Other data, so another key: the courier must not answer with the refusal it remembers.
  CHECK(book.idempotency_key == "s1/book_courier/do/edit1");
  CHECK(book.id == "s1/book_courier/do/2");
  h.reload();
  h.ok(book, json::object{{"tracking", "T1"}, {"eta", "today"}});
  h.ok(h.sent("mail.send"));
  CHECK(h.status() == Status::completed);
}

TEST_CASE("after an edit, a step whose attempt timed out keeps its key: it may have been applied") {
  EngineHarness h(kShipping);
  h.start(json::object{{"address", "Nowhere"}});
  h.ok(h.sent("billing.charge"));
  const auto first = h.sent("courier.book");
  h.fire("step:book_courier");  // no answer: the courier may have booked it
  REQUIRE(h.status() == Status::failed);
  edit(h, EditRequest{.saga_id = "s1", .input = json::object{{"address", "Main St 1"}}});
  const auto again = h.sent("courier.book");
  CHECK(again.idempotency_key == first.idempotency_key);
  CHECK(again.idempotency_key == "s1/book_courier/do");
  CHECK(again.id != first.id);
}

TEST_CASE("an edit without retry leaves the saga parked, and only a parked saga is edited") {
  EngineHarness h(kShipping);
  h.start(json::object{{"address", "Nowhere"}});
  const auto charge = h.sent("billing.charge");
  CHECK_THROWS_AS(edit(h, EditRequest{.saga_id = "s1", .input = json::object{}}), Refused);
  h.ok(charge);
  h.business_failure(h.sent("courier.book"), "UnknownAddress");
  edit(h, EditRequest{.saga_id = "s1",
                      .input = json::object{{"address", "Main St 1"}},
                      .mode = EditMode::replace,
                      .retry = false});
  CHECK(h.status() == Status::failed);
  CHECK(h.last.outbox.empty());
  CHECK(h.saga->input == json::value(json::object{{"address", "Main St 1"}}));
  h.retry();
  CHECK(json::parse(h.sent("courier.book").body).at("address") == "Main St 1");
}

TEST_CASE("merge_patch follows RFC 7386") {
  const auto target = json::parse(R"({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]})");
  CHECK(merge_patch(target, json::parse(R"({"a": null, "b": {"c": 9}, "e": [2], "f": "x"})")) ==
        json::parse(R"({"b": {"c": 9, "d": 3}, "e": [2], "f": "x"})"));
  CHECK(merge_patch(target, json::parse("[1]")) == json::parse("[1]"));
  CHECK(merge_patch(json::parse("3"), json::parse(R"({"a": {"b": null}})")) ==
        json::parse(R"({"a": {}})"));
}
