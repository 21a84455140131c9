// The engine's decisions, input by input, with a manual clock and no I/O.
#include <doctest/doctest.h>

#include "engine_harness.hpp"
#include "sagaflow/engine/backoff_jitter.hpp"

using namespace sagaflow;
using sagaflow::testing::EngineHarness;

namespace {

constexpr std::string_view kPurchase = R"(
name: purchase
version: 1
timeout: 1h
input:
  user: string
  price: integer
steps:
  - name: create_order
    command: { service: offers, name: create_order, input: { user: $input.user } }
    output: { order_id: $reply.order_id }
    compensation: { service: offers, name: cancel_order, input: { order_id: $steps.create_order.order_id } }
  - name: reserve
    command: { service: points, name: reserve, input: { user: $input.user, amount: $input.price } }
    retry: { max_attempts: 3, initial_delay: 100ms, multiplier: 2, max_delay: 1s, non_retryable: [InsufficientPoints] }
    timeout: 5s
    compensation: { service: points, name: release, input: { user: $input.user, amount: $input.price } }
  - name: debit
    command: { service: points, name: debit, input: { user: $input.user, order: $steps.create_order.order_id } }
    compensation: { service: points, name: refund, input: { user: $input.user } }
  - name: fulfil
    irreversible: true
    command: { service: offers, name: fulfil, input: { order_id: $steps.create_order.order_id } }
  - name: announce
    publish: { event: offer.purchased, payload: { order_id: $steps.create_order.order_id } }
)";

json::value purchase_input() {
  return json::object{{"user", "u1"}, {"price", 50}};
}

// Runs the purchase saga up to (and including) sending `reserve`.
void run_to_reserve(EngineHarness& h) {
  h.start(purchase_input());
  h.ok(h.sent("offers.create_order"), json::object{{"order_id", "o-7"}});
}

std::vector<std::string> compensations_until_done(EngineHarness& h) {
  std::vector<std::string> order;
  while (h.status() == Status::compensating && !h.last.outbox.empty()) {
    auto m = h.last.outbox.front();
    order.push_back(m.type);
    h.ok(m);
  }
  return order;
}

}  // namespace

TEST_CASE("a saga that succeeds sends each command in order and completes") {
  EngineHarness h(kPurchase);
  h.start(purchase_input());
  CHECK(h.status() == Status::running);
  CHECK(h.saga->version == 1);
  auto create = h.sent("offers.create_order");
  CHECK(create.id == "s1/create_order/do/1");
  CHECK(create.idempotency_key == "s1/create_order/do");
  CHECK(create.destination == "offers");
  CHECK(create.correlation_id == "s1");
  CHECK(json::parse(create.body) == json::parse(R"({"user":"u1"})"));
  CHECK(h.timers.count("saga") == 1);
  CHECK(h.timers.count("step:create_order") == 1);

  h.ok(create, json::object{{"order_id", "o-7"}, {"ignored", true}});
  CHECK(h.saga->steps.at("create_order") == json::parse(R"({"order_id":"o-7"})"));
  CHECK(h.timers.count("step:create_order") == 0);
  auto reserve = h.sent("points.reserve");
  CHECK(json::parse(reserve.body) == json::parse(R"({"user":"u1","amount":50})"));

  h.ok(reserve);
  auto debit = h.sent("points.debit");
  CHECK(json::parse(debit.body).at("order") == "o-7");
  h.ok(debit);
  h.ok(h.sent("offers.fulfil"));
  auto announced = h.sent("offer.purchased");
  CHECK(announced.kind == MessageKind::event);
  CHECK(json::parse(announced.body) == json::parse(R"({"order_id":"o-7"})"));
  CHECK(h.status() == Status::completed);
  CHECK(h.has_history("saga_completed"));
  CHECK(h.timers.empty());
  CHECK(h.saga->version == 5);
}

TEST_CASE("the start input is checked against the flow's input contract") {
  EngineHarness h(kPurchase);
  CHECK_THROWS_WITH_AS(h.start(json::object{{"user", 7}}),
                       doctest::Contains("input.price: required"), InvalidInput);
  CHECK_THROWS_WITH_AS(h.start(json::object{{"user", 7}, {"price", 1}}),
                       doctest::Contains("input.user: expected a string, got the integer 7"),
                       InvalidInput);
}

TEST_CASE("a start with a misspelled field is refused with every problem and its path") {
  EngineHarness h(kPurchase);
  try {
    h.start(json::object{{"user", "u1"}, {"price", "3"}, {"prices", 3}});
    FAIL("the start was accepted");
  } catch (const InvalidInput& e) {
    REQUIRE(e.problems().size() == 2);
    CHECK(e.problems()[0].path == "input.price");
    CHECK(e.problems()[0].message == R"(input.price: expected an integer, got the string "3")");
    CHECK(e.problems()[1].path == "input.prices");
    CHECK(e.problems()[1].message == "input.prices: unknown field (expected fields: user, price)");
    CHECK(std::string(e.what()) == e.problems()[0].message + "; " + e.problems()[1].message);
  }
  CHECK(h.saga == nullptr);
}

TEST_CASE("a business failure compensates completed steps in reverse order of completion") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.ok(h.sent("points.reserve"));
  h.business_failure(h.sent("points.debit"), "CardBlocked");
  CHECK(h.status() == Status::compensating);
  CHECK(h.has_history("compensation_started"));
  auto first = h.sent("points.release");
  CHECK(first.id == "s1/reserve/undo/1");
  CHECK(first.idempotency_key == "s1/reserve/undo");
  CHECK(compensations_until_done(h) ==
        std::vector<std::string>{"points.release", "offers.cancel_order"});
  CHECK(h.status() == Status::compensated);
  CHECK(h.has_history("saga_compensated"));
  CHECK(h.timers.empty());
}

TEST_CASE("a non-retryable business code fails at once, nothing before it needs undoing twice") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.business_failure(h.sent("points.reserve"), "InsufficientPoints");
  // reserve never took effect: only the order is cancelled.
  CHECK(compensations_until_done(h) == std::vector<std::string>{"offers.cancel_order"});
  CHECK(h.status() == Status::compensated);
}

TEST_CASE("technical errors are retried with exponential backoff, each attempt a new id") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  auto attempt1 = h.sent("points.reserve");
  auto t0 = h.clock.now();
  h.technical_error(attempt1);
  CHECK(h.last.outbox.empty());
  // The policy's 100 ms, then 200 ms, each jittered by the id of the attempt it precedes.
  CHECK(h.timers.at("step:reserve") - t0 ==
        jittered_backoff(std::chrono::milliseconds(100), "s1/reserve/do/2"));
  h.fire("step:reserve");
  auto attempt2 = h.sent("points.reserve");
  CHECK(attempt2.id == "s1/reserve/do/2");
  CHECK(attempt2.idempotency_key == attempt1.idempotency_key);
  auto t1 = h.clock.now();
  h.technical_error(attempt2);
  CHECK(h.timers.at("step:reserve") - t1 ==
        jittered_backoff(std::chrono::milliseconds(200), "s1/reserve/do/3"));
  h.fire("step:reserve");
  auto attempt3 = h.sent("points.reserve");
  CHECK(attempt3.attempt == 3);
  h.technical_error(attempt3);  // the budget of 3 attempts is spent
  CHECK(h.status() == Status::compensating);
  CHECK(compensations_until_done(h) == std::vector<std::string>{"offers.cancel_order"});
}

TEST_CASE("a step that times out is retried, and compensated if it may have taken effect") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.fire("step:reserve");  // 5s without a reply
  CHECK(h.has_history("step_timed_out"));
  h.fire("step:reserve");  // backoff over
  h.fire("step:reserve");  // attempt 2 times out
  h.fire("step:reserve");
  h.fire("step:reserve");  // attempt 3 times out: give up
  CHECK(h.status() == Status::compensating);
  // The reservation may have happened: it is released before the order is cancelled.
  CHECK(compensations_until_done(h) ==
        std::vector<std::string>{"points.release", "offers.cancel_order"});
}

TEST_CASE("the saga timeout compensates a saga that takes too long") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.ok(h.sent("points.reserve"));
  auto debit = h.sent("points.debit");
  h.fire("saga");
  CHECK(h.has_history("saga_timed_out"));
  // debit is still out: compensation waits until it answers.
  CHECK(h.status() == Status::compensating);
  CHECK(h.last.outbox.empty());
  h.ok(debit);
  CHECK(compensations_until_done(h) ==
        std::vector<std::string>{"points.refund", "points.release", "offers.cancel_order"});
  CHECK(h.status() == Status::compensated);
}

TEST_CASE("duplicate and stale replies are recorded and change nothing") {
  EngineHarness h(kPurchase);
  h.start(purchase_input());
  auto create = h.sent("offers.create_order");
  h.ok(create, json::object{{"order_id", "o-7"}});
  auto reserve = h.sent("points.reserve");
  auto version = h.saga->version;

  h.ok(create, json::object{{"order_id", "other"}});  // the same reply again
  CHECK(h.has_history("reply_ignored"));
  CHECK(h.last.outbox.empty());
  CHECK(h.saga->steps.at("create_order").at("order_id") == "o-7");
  CHECK(h.saga->version == version + 1);  // recorded, nothing else

  h.technical_error(reserve);
  h.fire("step:reserve");
  h.ok(reserve);  // attempt 1 answers late, after attempt 2 was sent
  CHECK(h.has_history("reply_ignored"));
  CHECK(h.saga->activities[1].phase == ActivityPhase::awaiting_reply);
}

TEST_CASE("cancel compensates what was done and ends cancelled, finished sagas refuse it") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.ok(h.sent("points.reserve"));
  auto debit = h.sent("points.debit");
  h.cancel("customer changed their mind");
  CHECK(h.status() == Status::compensating);
  CHECK(h.last.outbox.empty());  // debit is still out
  h.ok(debit);
  CHECK(compensations_until_done(h) ==
        std::vector<std::string>{"points.refund", "points.release", "offers.cancel_order"});
  CHECK(h.status() == Status::cancelled);
  auto version = h.saga->version;
  CHECK_THROWS_AS(h.cancel(), Refused);
  CHECK(h.saga->version == version);
}

TEST_CASE("a compensation that keeps failing parks the saga, an operator retry finishes it") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  h.business_failure(h.sent("points.reserve"), "InsufficientPoints");
  auto cancel1 = h.sent("offers.cancel_order");
  h.technical_error(cancel1);
  for (int attempt = 2; attempt <= 5; ++attempt) {
    h.fire("step:create_order");
    h.technical_error(h.sent("offers.cancel_order"));
  }
  CHECK(h.status() == Status::failed);
  CHECK(h.has_history("saga_parked"));
  CHECK(h.saga->failure.find("compensation of create_order failed") != std::string::npos);
  CHECK_THROWS_AS(h.cancel(), Refused);

  h.retry();
  CHECK(h.status() == Status::compensating);
  auto again = h.sent("offers.cancel_order");
  CHECK(again.id == "s1/create_order/undo/6");
  h.ok(again);
  CHECK(h.status() == Status::compensated);
}

TEST_CASE("past the pivot a failure parks the saga instead of compensating") {
  EngineHarness h(R"(
name: pay
version: 1
steps:
  - name: charge
    pivot: true
    command: { service: billing, name: charge, input: {} }
    compensation: { service: billing, name: refund, input: {} }
  - name: notify_platform
    irreversible: true
    retry: { max_attempts: 2, initial_delay: 1s }
    command: { service: platform, name: send_order, input: {} }
)");
  h.start(json::object{});
  h.ok(h.sent("billing.charge"));
  h.technical_error(h.sent("platform.send_order"));
  h.fire("step:notify_platform");
  h.technical_error(h.sent("platform.send_order"));
  CHECK(h.status() == Status::failed);
  CHECK(h.last.outbox.empty());  // no refund: past the pivot it only goes forward
  CHECK_THROWS_AS(h.cancel(), Refused);
  h.retry();
  CHECK(h.status() == Status::running);
  h.ok(h.sent("platform.send_order"));
  CHECK(h.status() == Status::completed);
}

TEST_CASE("parallel branches run together and join, a failure drains, then undoes both") {
  EngineHarness h(R"(
name: register
version: 1
steps:
  - name: create_user
    command: { service: users, name: create, input: {} }
    compensation: { service: users, name: delete, input: {} }
  - name: setup
    parallel:
      - - name: billing
          command: { service: billing, name: create_account, input: {} }
          compensation: { service: billing, name: close_account, input: {} }
      - - name: notifications
          command: { service: notifications, name: save_user, input: {} }
          compensation: { service: notifications, name: forget_user, input: {} }
  - name: welcome
    publish: { event: user.registered, payload: {} }
)");
  h.start(json::object{});
  h.ok(h.sent("users.create"));
  CHECK(h.sent_types() == "billing.create_account,notifications.save_user");
  auto billing = h.sent("billing.create_account");
  auto notifications = h.sent("notifications.save_user");

  SUBCASE("both succeed: the join continues") {
    h.ok(notifications);
    CHECK(h.last.outbox.empty());
    h.ok(billing);
    CHECK(h.sent_types() == "user.registered");
    CHECK(h.status() == Status::completed);
  }
  SUBCASE("billing fails while notifications is out") {
    h.business_failure(billing, "Rejected");
    CHECK(h.status() == Status::compensating);
    CHECK(h.last.outbox.empty());
    h.ok(notifications);
    CHECK(compensations_until_done(h) ==
          std::vector<std::string>{"notifications.forget_user", "users.delete"});
    CHECK(h.status() == Status::compensated);
  }
}

TEST_CASE("foreach sends one command per element and compensates the ones done") {
  EngineHarness h(R"(
name: certificates
version: 1
input:
  lines: array
steps:
  - name: authorize
    foreach:
      items: $input.lines
      command: { service: certificates, name: authorize, input: { code: $item.code } }
    output: { id: $reply.id }
    compensation: { service: certificates, name: release, input: { code: $item.code } }
  - name: activate
    command: { service: certificates, name: activate, input: { ids: $steps.authorize } }
    compensation: { service: certificates, name: deactivate, input: {} }
)");
  h.start(json::parse(R"({"lines":[{"code":"A"},{"code":"B"},{"code":"C"}]})"));
  REQUIRE(h.last.outbox.size() == 3);
  auto a = h.last.outbox[0], b = h.last.outbox[1], c = h.last.outbox[2];
  CHECK(a.id == "s1/authorize[0]/do/1");
  CHECK(json::parse(c.body).at("code") == "C");

  SUBCASE("all succeed: the output is the items' outputs in item order") {
    h.ok(c, json::object{{"id", 3}});
    h.ok(a, json::object{{"id", 1}});
    CHECK(h.last.outbox.empty());
    h.ok(b, json::object{{"id", 2}});
    auto activate = h.sent("certificates.activate");
    CHECK(json::parse(activate.body).at("ids") == json::parse(R"([{"id":1},{"id":2},{"id":3}])"));
  }
  SUBCASE("one item fails: the others are released, last completed first") {
    h.ok(c, json::object{{"id", 3}});
    h.ok(a, json::object{{"id", 1}});
    h.business_failure(b, "CodeAlreadySold");
    std::vector<std::string> codes;
    while (h.status() == Status::compensating && !h.last.outbox.empty()) {
      auto m = h.last.outbox.front();
      codes.emplace_back(json::parse(m.body).at("code").as_string());
      h.ok(m);
    }
    CHECK(codes == std::vector<std::string>{"A", "C"});
    CHECK(h.status() == Status::compensated);
  }
}

TEST_CASE("a step whose condition is false is skipped") {
  EngineHarness h(R"(
name: order
version: 1
input:
  coupon: { type: string, required: false }
steps:
  - name: apply_coupon
    when: $input.coupon != null
    command: { service: coupons, name: apply, input: { coupon: $input.coupon } }
    compensation: { service: coupons, name: release, input: {} }
  - name: charge
    irreversible: true
    command: { service: billing, name: charge, input: {} }
)");
  SUBCASE("without a coupon") {
    h.start(json::object{});
    CHECK(h.sent_types() == "billing.charge");
    CHECK(h.has_history("step_skipped"));
  }
  SUBCASE("with a coupon") {
    h.start(json::object{{"coupon", "SPRING"}});
    CHECK(h.sent_types() == "coupons.apply");
  }
}

namespace {
constexpr std::string_view kPaymentWait = R"(
name: certificate_sale
version: 1
input:
  order_id: string
steps:
  - name: reserve
    command: { service: certificates, name: reserve, input: {} }
    compensation: { service: certificates, name: release, input: {} }
  - name: await_payment
    wait:
      events: [All_Payments]
      correlate: $input.order_id
      key: $event.orderId
      until: $event.isOrderSettled == true && $event.outstandingAmount == 0
      stale: $event.paymentVersion <= $steps.await_payment.paymentVersion
      failure_events: [payment.failed]
      on_failure_event: keep_waiting
      timeout: 30m
  - name: activate
    irreversible: true
    command: { service: certificates, name: activate, input: { paid: $steps.await_payment.capturedAmount } }
)";

json::value payment(int version, int captured, int outstanding, bool settled) {
  return json::object{{"orderId", "o-1"},
                      {"paymentVersion", version},
                      {"capturedAmount", captured},
                      {"outstandingAmount", outstanding},
                      {"isOrderSettled", settled}};
}
}  // namespace

TEST_CASE("a wait consumes events until its condition holds, ignoring stale and duplicate ones") {
  EngineHarness h(kPaymentWait);
  h.start(json::object{{"order_id", "o-1"}});
  h.ok(h.sent("certificates.reserve"));
  CHECK(h.status() == Status::waiting);
  REQUIRE(h.last.subscribe.size() == 2);
  CHECK(h.last.subscribe[0].event == "All_Payments");
  CHECK(h.last.subscribe[0].key == "o-1");

  h.event("All_Payments", payment(2, 60, 40, false), "e2");
  CHECK(h.has_history("event_accepted"));
  CHECK(h.status() == Status::waiting);
  h.event("All_Payments", payment(1, 30, 70, false), "e1");  // older version, arrives late
  CHECK(h.has_history("event_ignored"));
  CHECK(h.saga->steps.at("await_payment").at("paymentVersion") == 2);
  h.event("All_Payments", payment(2, 60, 40, false), "e2");  // the same message again
  CHECK(h.has_history("event_ignored"));
  h.event("payment.failed", json::object{{"orderId", "o-1"}}, "f1");  // keep waiting
  CHECK(h.status() == Status::waiting);
  h.event("All_Payments", payment(3, 100, 0, true), "e3");
  CHECK(h.status() == Status::running);
  CHECK(h.last.unsubscribe.size() == 2);
  CHECK(json::parse(h.sent("certificates.activate").body).at("paid") == 100);
}

TEST_CASE("a wait that times out compensates") {
  EngineHarness h(kPaymentWait);
  h.start(json::object{{"order_id", "o-1"}});
  h.ok(h.sent("certificates.reserve"));
  h.fire("wait:await_payment");
  CHECK(h.has_history("wait_timed_out"));
  CHECK(h.last.unsubscribe.size() == 2);
  CHECK(compensations_until_done(h) == std::vector<std::string>{"certificates.release"});
  CHECK(h.status() == Status::compensated);
}

TEST_CASE("the compensation may depend on how far the step got") {
  EngineHarness h(R"(
name: redemption
version: 1
steps:
  - name: hold
    command: { service: certificates, name: authorize_hold, input: {} }
    compensation:
      - when: $steps.capture.status == 'captured'
        service: certificates
        name: void
        input: { authorization: $steps.hold.id }
      - service: certificates
        name: release
        input: { authorization: $steps.hold.id }
  - name: capture
    irreversible: true
    command: { service: certificates, name: capture, input: {} }
  - name: confirm
    irreversible: true
    command: { service: orders, name: confirm, input: {} }
)");
  h.start(json::object{});
  h.ok(h.sent("certificates.authorize_hold"), json::object{{"id", "h-1"}});
  SUBCASE("an open hold is released") {
    h.business_failure(h.sent("certificates.capture"), "Declined");
    CHECK(h.sent_types() == "certificates.release");
  }
  SUBCASE("a capture is voided") {
    h.ok(h.sent("certificates.capture"), json::object{{"status", "captured"}});
    h.business_failure(h.sent("orders.confirm"), "Rejected");
    auto v = h.sent("certificates.void");
    CHECK(json::parse(v.body).at("authorization") == "h-1");
  }
}

TEST_CASE("a saga read back from its stored row continues exactly where it was") {
  EngineHarness h(kPurchase);
  run_to_reserve(h);
  auto reserve = h.sent("points.reserve");
  h.technical_error(reserve);
  auto before = to_row(*h.saga);
  h.reload();
  CHECK(to_row(*h.saga).state == before.state);
  CHECK(h.status() == Status::running);
  h.fire("step:reserve");
  CHECK(h.sent("points.reserve").attempt == 2);

  SagaWrite out;
  h.engine.resend_pending(*h.saga, h.clock.now(), out);
  REQUIRE(out.outbox.size() == 1);
  CHECK(out.outbox[0].id == "s1/reserve/do/2");  // the same id: participants recognise it
}

namespace {
constexpr std::string_view kOrderPayment = R"(
name: order_payment
version: 1
steps:
  - name: create_order
    command: { service: orders, name: create, input: {} }
    output: { order_id: $reply.order_id }
    compensation: { service: orders, name: reject, input: { order_id: $steps.create_order.order_id } }
  - name: charge
    command: { service: billing, name: charge, input: {} }
    compensation: { service: billing, name: refund, input: {} }
  - name: email_paid
    irreversible: true
    command: { service: notifications, name: send_email, input: { template: 'paid' } }
on_compensated:
  - name: email_not_paid
    retry: { max_attempts: 2, initial_delay: 1s }
    command:
      service: notifications
      name: send_email
      input: { template: 'not_paid', order_id: $steps.create_order.order_id, charged: $steps.charge }
  - name: order_not_paid
    publish: { event: OrderNotPaid, payload: { order_id: $steps.create_order.order_id } }
)";
}  // namespace

TEST_CASE("on_compensated steps run after the compensation, before the saga ends") {
  EngineHarness h(kOrderPayment);
  h.start(json::object{});
  h.ok(h.sent("orders.create"), json::object{{"order_id", "o-1"}});
  h.business_failure(h.sent("billing.charge"), "InsufficientFunds");
  h.ok(h.sent("orders.reject"));
  CHECK(h.status() == Status::compensating);  // not yet: the customer is still to be told
  auto email = h.sent("notifications.send_email");
  auto body = json::parse(email.body);
  CHECK(body.at("template") == "not_paid");
  CHECK(body.at("order_id") == "o-1");
  CHECK(body.at("charged").is_null());  // a step that did not complete reads as null
  CHECK(email.id == "s1/email_not_paid/do/1");

  SUBCASE("the steps succeed: compensated, with the event published") {
    h.ok(email);
    CHECK(h.sent_types() == "OrderNotPaid");
    CHECK(h.status() == Status::compensated);
  }
  SUBCASE("a step that keeps failing parks the saga; an operator retry finishes it") {
    h.technical_error(email);
    h.fire("step:email_not_paid");
    h.technical_error(h.sent("notifications.send_email"));
    CHECK(h.status() == Status::failed);
    CHECK(h.saga->failure.find("email_not_paid") != std::string::npos);
    h.retry();
    CHECK(h.status() == Status::compensating);
    auto again = h.sent("notifications.send_email");
    CHECK(again.attempt == 3);
    CHECK(json::parse(again.body).at("template") == "not_paid");
    h.ok(again);
    CHECK(h.status() == Status::compensated);
  }
  SUBCASE("the saga survives a restart between the compensation and its last steps") {
    h.reload();
    h.ok(email);
    CHECK(h.status() == Status::compensated);
  }
}

TEST_CASE("on_compensated steps do not run when the saga completes") {
  EngineHarness h(kOrderPayment);
  h.start(json::object{});
  h.ok(h.sent("orders.create"), json::object{{"order_id", "o-1"}});
  h.ok(h.sent("billing.charge"));
  auto email = h.sent("notifications.send_email");
  CHECK(json::parse(email.body).at("template") == "paid");
  h.ok(email);
  CHECK(h.status() == Status::completed);
  CHECK(h.last.outbox.empty());
}
