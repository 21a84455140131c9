#include "sagaflow/sagas/booking.hpp"

#include <stdexcept>

namespace sagaflow::sagas {

const char* BookingService::to_string(Status status) {
  switch (status) {
    case Status::pending_payment:
      return "pending_payment";
    case Status::confirmed:
      return "confirmed";
    case Status::cancelled:
      return "cancelled";
  }
  return "unknown";
}

void BookingService::add_slot(const std::string& slot_id, std::int64_t capacity) {
  std::lock_guard lock(mutex_);
  auto& slot = slots_[slot_id];
  if (capacity < 0 || capacity < slot.taken - slot.freed) {
    throw std::invalid_argument("slot " + slot_id + ": capacity below what is booked");
  }
  slot.capacity = capacity;
}

void BookingService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace booking;
  worker::on<Create, Created>(dispatcher, "booking.create",
                              [this](const Create& c, const Message& m) { return create(c, m); });
  worker::on<CancelByReference, Undone>(
      dispatcher, "booking.cancel",
      [this](const CancelByReference& c, const Message& m) { return cancel(c, m); });
  worker::on<Confirm, Confirmed>(
      dispatcher, "booking.confirm",
      [this](const Confirm& c, const Message& m) { return confirm(c, m); });
}

// An unknown or full slot is the business failure SlotUnavailable: retrying cannot mend it.
worker::Outcome<booking::Created> BookingService::create(const booking::Create& c,
                                                         const Message& m) {
  using Outcome = worker::Outcome<booking::Created>;
  if (c.reference.empty()) return Outcome::business_failure("MissingReference");
  if (c.customer_id.empty()) return Outcome::business_failure("MissingCustomer");
  std::lock_guard lock(mutex_);
  // The same reference booked again (a resend under another key) is the same booking.
  if (auto known = references_.find(c.reference); known != references_.end()) {
    const auto& b = bookings_.at(known->second);
    if (b.slot_id != c.slot_id || b.customer_id != c.customer_id) {
      return Outcome::business_failure("ReferenceReused");
    }
    if (b.status == Status::cancelled) return Outcome::business_failure("BookingCancelled");
    return booking::Created{b.booking_id, b.slot_id, to_string(b.status)};
  }
  auto slot = slots_.find(c.slot_id);
  if (slot == slots_.end() || slot->second.taken - slot->second.freed >= slot->second.capacity) {
    return Outcome::business_failure("SlotUnavailable");
  }
  slot->second.taken += 1;
  Booking b{.booking_id = "bk-" + std::to_string(next_id_++),
            .reference = c.reference,
            .customer_id = c.customer_id,
            .slot_id = c.slot_id};
  references_[c.reference] = b.booking_id;
  bookings_[b.booking_id] = b;
  record(m, "create", b);
  return booking::Created{b.booking_id, b.slot_id, to_string(b.status)};
}

// Cancelling a booking that was never made (create failed or never arrived) or is cancelled
// already succeeds with done=false. A confirmed booking is past the saga's pivot: refused.
worker::Outcome<booking::Undone> BookingService::cancel(const booking::CancelByReference& c,
                                                        const Message& m) {
  std::lock_guard lock(mutex_);
  auto known = references_.find(c.reference);
  if (known == references_.end()) return booking::Undone{false};
  auto& b = bookings_.at(known->second);
  if (b.status == Status::cancelled) return booking::Undone{false};
  if (b.status == Status::confirmed) {
    return worker::Outcome<booking::Undone>::business_failure("BookingConfirmed");
  }
  b.status = Status::cancelled;
  slots_[b.slot_id].freed += 1;
  record(m, "cancel", b);
  return booking::Undone{true};
}

worker::Outcome<booking::Confirmed> BookingService::confirm(const booking::Confirm& c,
                                                            const Message& m) {
  using Outcome = worker::Outcome<booking::Confirmed>;
  std::lock_guard lock(mutex_);
  auto found = bookings_.find(c.booking_id);
  if (found == bookings_.end()) return Outcome::business_failure("UnknownBooking");
  auto& b = found->second;
  if (b.status == Status::cancelled) return Outcome::business_failure("BookingCancelled");
  if (b.status == Status::pending_payment) {
    b.status = Status::confirmed;
    record(m, "confirm", b);
  }
  return booking::Confirmed{b.booking_id, to_string(b.status)};
}

void BookingService::record(const Message& m, std::string kind, const Booking& b) {
  ledger_.push_back(Effect{m.idempotency_key, std::move(kind), b.booking_id, 1});
}

std::vector<BookingService::Availability> BookingService::availability() const {
  std::lock_guard lock(mutex_);
  std::vector<Availability> out;
  for (const auto& [id, s] : slots_) {
    const auto booked = s.taken - s.freed;
    out.push_back(Availability{id, s.capacity, booked, s.capacity - booked});
  }
  return out;
}

BookingService::Availability BookingService::availability(const std::string& slot_id) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(slot_id);
  if (it == slots_.end()) return Availability{slot_id, 0, 0, 0};
  const auto booked = it->second.taken - it->second.freed;
  return Availability{slot_id, it->second.capacity, booked, it->second.capacity - booked};
}

std::map<std::string, BookingService::Booking> BookingService::bookings() const {
  std::lock_guard lock(mutex_);
  return bookings_;
}

BookingService::Booking BookingService::booking_by_reference(const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto it = references_.find(reference);
  return it == references_.end() ? Booking{} : bookings_.at(it->second);
}

std::vector<Effect> BookingService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool BookingService::invariant_holds() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::int64_t> holding;  // per slot: pending_payment + confirmed
  std::map<std::string, std::int64_t> cancelled;
  for (const auto& [id, b] : bookings_) {
    if (b.status == Status::cancelled) {
      cancelled[b.slot_id] += 1;
    } else {
      holding[b.slot_id] += 1;
    }
  }
  for (const auto& [id, s] : slots_) {
    const auto booked = s.taken - s.freed;
    if (booked < 0 || booked > s.capacity || booked != holding[id] || s.freed != cancelled[id]) {
      return false;
    }
  }
  // Every booking was created once; each cancelled one was cancelled once, after its creation,
  // and never confirmed; a confirmed one was confirmed once and never cancelled.
  std::map<std::string, int> creates, cancels, confirms;
  for (const auto& e : ledger_) {
    if (e.kind == "create") {
      if (creates[e.subject]++ != 0) return false;
    } else if (e.kind == "cancel") {
      if (creates[e.subject] != 1 || cancels[e.subject]++ != 0) return false;
    } else if (e.kind == "confirm") {
      if (creates[e.subject] != 1 || confirms[e.subject]++ != 0) return false;
    }
  }
  for (const auto& [id, b] : bookings_) {
    if (creates[id] != 1) return false;
    if (cancels[id] != (b.status == Status::cancelled ? 1 : 0)) return false;
    if (confirms[id] != (b.status == Status::confirmed ? 1 : 0)) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
