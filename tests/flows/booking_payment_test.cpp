// booking_payment (seed 003) end to end with the booking, payments and integration participants:
// the gateway's webhook reaches the payments service, which publishes payment.succeeded or
// payment.failed into the world; the saga waits for it. Every test checks the final status, the
// compensations in order, the booking invariant and the payment states.
#include <doctest/doctest.h>

#include "flow_world.hpp"
#include "sagaflow/sagas/booking.hpp"
#include "sagaflow/sagas/integration.hpp"
#include "sagaflow/sagas/payments.hpp"

using namespace sagaflow;
using namespace std::chrono_literals;
using Strings = std::vector<std::string>;
using BookingStatus = sagas::BookingService::Status;
using PaymentStatus = sagas::PaymentsService::Status;
using sagas::PaymentsService;

namespace {

struct BookingPayment {
  BookingPayment() {
    booking.add_slot("mon-10", 1);
    booking.add_slot("tue-10", 0);  // nothing left
    booking.register_handlers(booking_dispatcher);
    payments.register_handlers(payments_dispatcher);
    world.serve("booking", booking_dispatcher);
    world.serve("payments", payments_dispatcher);
    // The payments service publishes its events into the world, as onto the broker.
    payments.set_event_sink([this](Message m) {
      outside_events.push_back(m.type);
      world.publish_event(m.type, json::parse(m.body), m.id);
    });
    for (const auto& type : sagas::IntegrationService::event_types()) {
      world.subscribe(type, [this](const Message& m) { integration.handle(m); });
    }
  }
  std::string book(const std::string& slot = "mon-10", std::int64_t amount = 1500) {
    return world.start("booking_payment",
                       json::object{{"customer_id", "ann"}, {"slot_id", slot}, {"amount", amount}});
  }
  std::string payment_id(const std::string& saga) {
    return std::string(world.result(saga, "create_payment").at("payment_id").as_string());
  }
  std::string booking_id(const std::string& saga) {
    return std::string(world.result(saga, "create_booking").at("booking_id").as_string());
  }
  // The gateway calls the payment service's webhook.
  PaymentsService::WebhookResult gateway(const std::string& saga, const std::string& status,
                                         std::int64_t amount = 1500) {
    return payments.handle_webhook(PaymentsService::webhook_body(payment_id(saga), status, amount));
  }
  BookingStatus booking_status(const std::string& saga) {
    return booking.booking_by_reference(saga).status;
  }
  PaymentStatus payment_status(const std::string& saga) {
    return payments.payment_by_reference(saga).status;
  }
  bool invariants() const { return booking.invariant_holds() && payments.invariant_holds(); }

  sagaflow::testing::FlowWorld world{{"booking_payment"}};
  sagas::BookingService booking;
  sagas::PaymentsService payments;
  sagas::IntegrationService integration;
  worker::Dispatcher booking_dispatcher;
  worker::Dispatcher payments_dispatcher;
  Strings outside_events;
};

}  // namespace

TEST_CASE("booking_payment: the client pays and the booking is confirmed") {
  BookingPayment f;
  auto id = f.book();
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.world.commands(id) == Strings{"booking.create", "payments.create"});
  CHECK(f.world.events(id) == Strings{"booking.created"});
  auto created = f.world.result(id, "create_payment");
  CHECK(created.at("redirect_url") ==
        json::value("https://pay.example.test/checkout/" + f.payment_id(id)));
  CHECK(f.booking_status(id) == BookingStatus::pending_payment);
  CHECK(f.booking.availability("mon-10").free == 0);

  auto webhook = f.gateway(id, "succeeded");
  CHECK(webhook.accepted);
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"booking.create", "payments.create", "booking.confirm"});
  CHECK(f.world.events(id) == Strings{"booking.created", "booking.confirmed"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.outside_events == Strings{"payment.succeeded"});
  CHECK(f.booking_status(id) == BookingStatus::confirmed);
  CHECK(f.payment_status(id) == PaymentStatus::succeeded);
  auto bk = f.booking_id(id);
  CHECK(f.integration.count("booking.created", bk) == 1);
  CHECK(f.integration.count("booking.confirmed", bk) == 1);
  CHECK(f.integration.records().size() == 2);
  CHECK(f.world.result(id, "confirm_booking").at("status") == "confirmed");
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: an unavailable slot publishes nothing and creates no payment") {
  BookingPayment f;
  auto id = f.book("tue-10");
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) == Strings{"booking.create"});  // not retried: a business failure
  CHECK(f.world.events(id).empty());
  CHECK(f.world.compensations(id).empty());  // nothing completed, nothing to undo
  CHECK(f.payments.payments().empty());
  CHECK(f.booking.bookings().empty());
  CHECK(f.integration.records().empty());
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a second client cannot take the last place while the first pays") {
  BookingPayment f;
  auto first = f.book();
  auto second = f.book();
  CHECK(f.world.status(first) == "waiting");
  CHECK(f.world.status(second) == "compensated");
  CHECK(f.world.events(second).empty());
  CHECK(f.booking.availability("mon-10").booked == 1);
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: payments.create failing for good cancels the booking") {
  BookingPayment f;
  f.world.fail_next("payments.create", 3);
  auto id = f.book();
  f.world.advance(10s);  // past every retry's backoff
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.commands(id) ==
        Strings{"booking.create", "payments.create", "payments.create", "payments.create"});
  CHECK(f.world.compensations(id) == Strings{"booking.cancel"});
  CHECK(f.world.events(id) == Strings{"booking.created"});  // published before; not taken back
  CHECK(f.booking_status(id) == BookingStatus::cancelled);
  CHECK(f.booking.availability("mon-10").free == 1);
  CHECK(f.payments.payments().empty());
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a payment created whose replies were lost is still cancelled") {
  BookingPayment f;
  f.world.lose_reply_of_next("payments.create");
  f.world.drop_next("payments.create", 2);
  auto id = f.book();
  f.world.advance(1min);  // three attempts time out (5s each)
  CHECK(f.world.status(id) == "compensated");
  // The first attempt took effect: found by the saga id, it is cancelled too.
  CHECK(f.world.compensations(id) == Strings{"payments.cancel", "booking.cancel"});
  CHECK(f.payment_status(id) == PaymentStatus::cancelled);
  CHECK(f.booking_status(id) == BookingStatus::cancelled);
  CHECK(f.booking.availability("mon-10").free == 1);
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a failed payment keeps the saga waiting until the client pays") {
  BookingPayment f;
  auto id = f.book();
  auto failed = f.gateway(id, "failed");
  CHECK(failed.accepted);
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.booking_status(id) == BookingStatus::pending_payment);
  CHECK(f.payment_status(id) == PaymentStatus::failed);
  CHECK(f.world.compensations(id).empty());
  f.world.advance(10min);  // still within the wait's 30 minutes
  CHECK(f.world.status(id) == "waiting");

  f.gateway(id, "succeeded");
  CHECK(f.world.status(id) == "completed");
  CHECK(f.outside_events == Strings{"payment.failed", "payment.succeeded"});
  CHECK(f.world.commands(id) == Strings{"booking.create", "payments.create", "booking.confirm"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.booking_status(id) == BookingStatus::confirmed);
  CHECK(f.payment_status(id) == PaymentStatus::succeeded);
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: no payment within the wait cancels the payment, then the booking") {
  BookingPayment f;
  auto id = f.book();
  f.gateway(id, "failed");  // the client tried once and gave up
  f.world.advance(31min);
  CHECK(f.world.status(id) == "compensated");
  CHECK(f.world.compensations(id) == Strings{"payments.cancel", "booking.cancel"});
  CHECK(f.world.events(id) == Strings{"booking.created"});
  CHECK(f.payment_status(id) == PaymentStatus::cancelled);
  CHECK(f.booking_status(id) == BookingStatus::cancelled);
  CHECK(f.booking.availability("mon-10").free == 1);
  CHECK(f.integration.count("booking.confirmed", f.booking_id(id)) == 0);
  // The gateway's late success is ignored by the cancelled payment: nothing is published.
  auto late = f.gateway(id, "succeeded");
  CHECK_FALSE(late.accepted);
  CHECK(late.error == "PaymentClosed");
  CHECK(f.outside_events == Strings{"payment.failed"});
  CHECK(f.world.status(id) == "compensated");
  // The freed place can be booked again.
  auto again = f.book();
  CHECK(f.world.status(again) == "waiting");
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a webhook it cannot process leaves the payment pending and waiting") {
  BookingPayment f;
  auto id = f.book();
  CHECK(f.payments.handle_webhook("{\"payment_id\": ").error == "MalformedWebhook");
  CHECK(f.gateway(id, "succeeded", 1).error == "AmountMismatch");
  CHECK(f.payments.rejected_webhooks().size() == 2);
  CHECK(f.outside_events.empty());
  CHECK(f.payment_status(id) == PaymentStatus::pending);
  CHECK(f.world.status(id) == "waiting");
  CHECK(f.booking_status(id) == BookingStatus::pending_payment);
  // The gateway sends a good one afterwards.
  f.gateway(id, "succeeded");
  CHECK(f.world.status(id) == "completed");
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: payment.succeeded delivered several times is applied once") {
  BookingPayment f;
  auto id = f.book();
  f.gateway(id, "succeeded");
  auto again = f.gateway(id, "succeeded");  // the gateway repeats its webhook
  CHECK(again.duplicate);
  auto event = f.payments.published().back();
  f.world.publish_event(event.type, json::parse(event.body), event.id);  // a broker redelivery
  CHECK(f.outside_events == Strings{"payment.succeeded", "payment.succeeded"});
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"booking.create", "payments.create", "booking.confirm"});
  CHECK(f.world.events(id) == Strings{"booking.created", "booking.confirmed"});
  CHECK(f.integration.count("booking.confirmed", f.booking_id(id)) == 1);
  CHECK(f.booking.ledger().size() == 2);  // create, confirm
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a payment event of another saga does not complete this one") {
  BookingPayment f;
  f.booking.add_slot("wed-10", 1);
  auto mine = f.book();
  auto other = f.book("wed-10", 900);
  f.gateway(other, "succeeded", 900);
  CHECK(f.world.status(other) == "completed");
  CHECK(f.world.status(mine) == "waiting");
  CHECK(f.booking_status(mine) == BookingStatus::pending_payment);
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a confirmation that fails a few times is retried and confirms once") {
  BookingPayment f;
  f.world.fail_next("booking.confirm", 2);
  auto id = f.book();
  f.gateway(id, "succeeded");
  f.world.advance(10s);  // past the backoffs
  CHECK(f.world.status(id) == "completed");
  CHECK(f.world.commands(id) == Strings{"booking.create", "payments.create", "booking.confirm",
                                        "booking.confirm", "booking.confirm"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.booking_status(id) == BookingStatus::confirmed);
  CHECK(f.world.events(id) == Strings{"booking.created", "booking.confirmed"});
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: a confirmation that keeps failing parks the paid saga, never undoes") {
  BookingPayment f;
  f.world.fail_next("booking.confirm", 5);
  auto id = f.book();
  f.gateway(id, "succeeded");
  f.world.advance(1min);
  CHECK(f.world.status(id) == "failed");  // parked for an operator: the client has paid
  CHECK(f.world.compensations(id).empty());
  CHECK(f.payment_status(id) == PaymentStatus::succeeded);
  CHECK(f.booking_status(id) == BookingStatus::pending_payment);
  CHECK(f.world.events(id) == Strings{"booking.created"});

  // An operator retry sends the confirmation again with a fresh budget.
  auto retried = f.world.orchestrator().retry(id);
  f.world.settle();
  retried.get();
  CHECK(f.world.status(id) == "completed");
  CHECK(f.booking_status(id) == BookingStatus::confirmed);
  CHECK(f.world.events(id) == Strings{"booking.created", "booking.confirmed"});
  CHECK(f.world.compensations(id).empty());
  CHECK(f.invariants());
}

TEST_CASE("booking_payment: the client cancels while paying, after paying it is too late") {
  BookingPayment f;
  f.booking.add_slot("wed-10", 1);
  auto id = f.book();
  auto cancelled = f.world.orchestrator().cancel(id, "client changed their mind");
  f.world.settle();
  cancelled.get();
  CHECK(f.world.status(id) == "cancelled");
  CHECK(f.world.compensations(id) == Strings{"payments.cancel", "booking.cancel"});
  CHECK(f.booking.availability("mon-10").free == 1);
  CHECK(f.payment_status(id) == PaymentStatus::cancelled);

  auto paid = f.book("wed-10");
  f.world.fail_next("booking.confirm", 5);
  f.gateway(paid, "succeeded");
  f.world.advance(1min);
  CHECK(f.world.status(paid) == "failed");
  auto refused = f.world.orchestrator().cancel(paid, "too late");
  f.world.settle();
  CHECK_THROWS(refused.get());
  CHECK(f.world.status(paid) == "failed");
  CHECK(f.world.compensations(paid).empty());
  CHECK(f.invariants());
}
