// The booking participant's business rules, through its typed contracts on a dispatcher.
#include <doctest/doctest.h>

#include "support/send_command.hpp"

#include <stdexcept>

#include "sagaflow/sagas/booking.hpp"

using namespace sagaflow;
using Status = sagas::BookingService::Status;

namespace {

struct Booking {
  Booking() {
    service.add_slot("mon-10", 2);
    service.add_slot("tue-10", 1);
    service.register_handlers(dispatcher);
  }
  Message send(const std::string& type, json::value payload, const std::string& key) {
    return testing::send_command(dispatcher, type, std::move(payload), key);
  }
  Message create(const std::string& reference, const std::string& slot, const std::string& key,
                 const std::string& customer = "ann") {
    return send(
        "booking.create",
        json::object{{"reference", reference}, {"customer_id", customer}, {"slot_id", slot}}, key);
  }
  std::string create_ok(const std::string& reference, const std::string& slot,
                        const std::string& key) {
    auto reply = create(reference, slot, key);
    REQUIRE(reply.outcome == ReplyOutcome::success);
    auto body = json::parse(reply.body);
    CHECK(body.at("status") == "pending_payment");
    return std::string(body.at("booking_id").as_string());
  }
  Message cancel(const std::string& reference, const std::string& key) {
    return send("booking.cancel", json::object{{"reference", reference}}, key);
  }
  Message confirm(const std::string& booking_id, const std::string& key) {
    return send("booking.confirm", json::object{{"booking_id", booking_id}}, key);
  }
  sagas::BookingService service;
  worker::Dispatcher dispatcher;
};

bool done(const Message& reply) {
  return json::parse(reply.body).at("done") == true;
}

}  // namespace

TEST_CASE("booking: availability lists every slot with its free places") {
  Booking b;
  auto all = b.service.availability();
  REQUIRE(all.size() == 2);
  CHECK(all[0].slot_id == "mon-10");
  CHECK(all[0].free == 2);
  b.create_ok("s1", "mon-10", "k1");
  auto mon = b.service.availability("mon-10");
  CHECK(mon.capacity == 2);
  CHECK(mon.booked == 1);
  CHECK(mon.free == 1);
  CHECK(b.service.availability("nowhere").free == 0);
  CHECK(b.service.invariant_holds());
}

TEST_CASE("booking: create holds a place pending payment, a full or unknown slot is unavailable") {
  Booking b;
  auto id = b.create_ok("s1", "tue-10", "k1");
  CHECK(b.service.bookings().at(id).status == Status::pending_payment);
  auto full = b.create("s2", "tue-10", "k2");
  CHECK(full.outcome == ReplyOutcome::business_failure);
  CHECK(full.error_code == "SlotUnavailable");
  CHECK(b.create("s3", "nowhere", "k3").error_code == "SlotUnavailable");
  CHECK(b.service.availability("tue-10").booked == 1);
  CHECK(b.service.bookings().size() == 1);
  CHECK(b.service.ledger().size() == 1);
  CHECK(b.service.invariant_holds());
}

TEST_CASE("booking: cancel frees the place once, cancelling nothing succeeds with done=false") {
  Booking b;
  auto nothing = b.cancel("never", "k0");
  CHECK(nothing.outcome == ReplyOutcome::success);
  CHECK_FALSE(done(nothing));
  CHECK(b.service.ledger().empty());

  auto id = b.create_ok("s1", "tue-10", "k1");
  CHECK(done(b.cancel("s1", "k2")));
  CHECK_FALSE(done(b.cancel("s1", "k3")));  // already cancelled: nothing more to free
  CHECK(b.service.bookings().at(id).status == Status::cancelled);
  CHECK(b.service.availability("tue-10").free == 1);
  CHECK(b.service.ledger().size() == 2);
  CHECK(b.service.invariant_holds());
  // The freed place can be booked by someone else.
  b.create_ok("s2", "tue-10", "k4");
  CHECK(b.service.invariant_holds());
  // A cancelled booking is not confirmed, and its reference does not book again.
  CHECK(b.confirm(id, "k5").error_code == "BookingCancelled");
  CHECK(b.create("s1", "tue-10", "k6").error_code == "BookingCancelled");
}

TEST_CASE("booking: confirm turns pending_payment into confirmed, once") {
  Booking b;
  auto id = b.create_ok("s1", "mon-10", "k1");
  auto reply = b.confirm(id, "k2");
  REQUIRE(reply.outcome == ReplyOutcome::success);
  CHECK(json::parse(reply.body).at("status") == "confirmed");
  auto again = b.confirm(id, "k3");  // another key: the state says it is confirmed already
  CHECK(again.outcome == ReplyOutcome::success);
  CHECK(b.service.bookings().at(id).status == Status::confirmed);
  CHECK(b.service.ledger().size() == 2);
  CHECK(b.confirm("bk-404", "k4").error_code == "UnknownBooking");
  // A confirmed booking is past the saga's pivot: its compensation is refused.
  auto cancel = b.cancel("s1", "k5");
  CHECK(cancel.outcome == ReplyOutcome::business_failure);
  CHECK(cancel.error_code == "BookingConfirmed");
  CHECK(b.service.availability("mon-10").booked == 1);
  CHECK(b.service.invariant_holds());
}

TEST_CASE("booking: a create repeated by key or by reference books once") {
  Booking b;
  auto first = b.create("s1", "mon-10", "s1/create_booking/do");
  auto same_key = b.create("s1", "mon-10", "s1/create_booking/do");
  auto same_reference = b.create("s1", "mon-10", "another-key");
  CHECK(first.body == same_key.body);
  CHECK(json::parse(first.body).at("booking_id") ==
        json::parse(same_reference.body).at("booking_id"));
  CHECK(b.service.availability("mon-10").booked == 1);
  CHECK(b.service.ledger().size() == 1);
  CHECK(b.service.ledger()[0].command_id == "s1/create_booking/do");
  CHECK(b.create("s1", "tue-10", "k9").error_code == "ReferenceReused");
  CHECK(b.service.booking_by_reference("s1").slot_id == "mon-10");
  CHECK(b.service.booking_by_reference("s2").booking_id.empty());
  CHECK(b.service.invariant_holds());
}

TEST_CASE("booking: the capacity is never exceeded, however bookings come and go") {
  Booking b;
  int created = 0;
  for (int i = 0; i < 10; ++i) {
    auto ref = "s" + std::to_string(i);
    auto reply = b.create(ref, "mon-10", "c" + std::to_string(i));
    created += reply.outcome == ReplyOutcome::success;
    if (i % 3 == 0) b.cancel(ref, "x" + std::to_string(i));
    CHECK(b.service.availability("mon-10").booked <= 2);
    CHECK(b.service.invariant_holds());
  }
  CHECK(created > 2);  // freed places were booked again
  CHECK_THROWS_AS(b.service.add_slot("mon-10", 0), std::invalid_argument);
  b.service.add_slot("mon-10", 5);
  CHECK(b.service.availability("mon-10").capacity == 5);
}

TEST_CASE("booking: a payload that does not fit the contract is refused, not retried") {
  Booking b;
  auto reply = b.send("booking.create", json::object{{"slot_id", "mon-10"}}, "k1");
  CHECK(reply.outcome == ReplyOutcome::business_failure);
  CHECK(reply.error_code == "MalformedPayload");
  CHECK(b.create("", "mon-10", "k2").error_code == "MissingReference");
  CHECK(b.service.ledger().empty());
}
