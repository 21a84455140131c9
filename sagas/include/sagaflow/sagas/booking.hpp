#pragma once
// The booking service of seed 003: slots with a capacity, bookings that hold a place while the
// client pays (pending_payment), confirmation and cancellation. Every command is applied at most
// once (the worker's dispatcher answers repeats from its record; create is also unique per
// reference) and every applied effect is written to a ledger keyed by the idempotency key.
//
// Invariant (invariant_holds): for every slot, the bookings that hold a place (pending_payment or
// confirmed) are exactly taken - freed and never more than its capacity; every booking took its
// place once, and every cancelled booking freed it once.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/booking.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class BookingService {
 public:
  enum class Status { pending_payment, confirmed, cancelled };
  struct Booking {
    std::string booking_id;
    std::string reference;
    std::string customer_id;
    std::string slot_id;
    Status status = Status::pending_payment;
  };
  struct Slot {
    std::int64_t capacity = 0;
    std::int64_t taken = 0;  // places ever taken by booking.create
    std::int64_t freed = 0;  // places given back by booking.cancel
  };
  // One row of GET /availability.
  struct Availability {
    std::string slot_id;
    std::int64_t capacity = 0;
    std::int64_t booked = 0;  // pending_payment + confirmed
    std::int64_t free = 0;
  };

  static const char* to_string(Status status);

  // A slot with `capacity` places (again: the capacity changes, never below what is booked).
  void add_slot(const std::string& slot_id, std::int64_t capacity);
  // Registers booking.create, booking.cancel and booking.confirm.
  void register_handlers(worker::Dispatcher& dispatcher);

  // GET /availability: every slot, by id.
  std::vector<Availability> availability() const;
  // One slot; an unknown slot reads as capacity 0.
  Availability availability(const std::string& slot_id) const;
  std::map<std::string, Booking> bookings() const;  // by booking id
  // The booking made under `reference` (the saga id); booking_id is empty when none was.
  Booking booking_by_reference(const std::string& reference) const;
  std::vector<Effect> ledger() const;  // kinds: create, cancel, confirm; subject: booking id
  bool invariant_holds() const;

 private:
  worker::Outcome<booking::Created> create(const booking::Create& c, const Message& m);
  worker::Outcome<booking::Undone> cancel(const booking::CancelByReference& c, const Message& m);
  worker::Outcome<booking::Confirmed> confirm(const booking::Confirm& c, const Message& m);
  void record(const Message& m, std::string kind, const Booking& b);

  mutable std::mutex mutex_;
  std::map<std::string, Slot> slots_;
  std::map<std::string, Booking> bookings_;        // by booking id
  std::map<std::string, std::string> references_;  // reference -> booking id
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
