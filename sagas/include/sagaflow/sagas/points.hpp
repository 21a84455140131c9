#pragma once
// The bonus-points module of seed 000: balances, reservations, debits and refunds. Every
// command is applied at most once (the worker's dispatcher answers repeats from its record) and
// every applied effect is written to a ledger that tests and the demo check.
//
// A hold is made for an order (the order's id, known to the saga before it sends the reserve):
// reserve is unique per order, and release finds the hold by it, so that the compensation works
// even when reserve's reply was lost. An order released before any hold was made for it stays
// released: a reserve arriving late for it (held up in the broker) holds nothing.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/points.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class PointsService {
 public:
  struct Account {
    std::int64_t initial = 0;
    std::int64_t balance = 0;
    std::int64_t reserved = 0;
    std::int64_t spent = 0;
    std::int64_t refunded = 0;
    std::int64_t added = 0;    // purchased points credited (points.add)
    std::int64_t revoked = 0;  // credits taken back (points.revoke)
    bool frozen = false;       // a frozen account accepts no credit
  };
  struct Effect {
    std::string command_id;
    std::string kind;            // reserve, release, debit, refund, add, revoke
    std::string reservation_id;  // for add and revoke: the credit id
    std::int64_t amount = 0;
  };

  void open_account(const std::string& user, std::int64_t balance);
  // A frozen (closed, blocked) account: points.add refuses it with AccountFrozen.
  void freeze(const std::string& user);
  // Registers points.reserve, points.release, points.debit, points.refund, points.add and
  // points.revoke.
  void register_handlers(worker::Dispatcher& dispatcher);

  Account account(const std::string& user) const;
  std::vector<Effect> ledger() const;
  // balance + reserved + spent + revoked == initial + refunded + added, for every user.
  bool conserved() const;

 private:
  enum class Hold { reserved, released, debited, refunded };
  struct Reservation {
    std::string user;
    std::int64_t amount = 0;
    Hold state = Hold::reserved;
  };
  worker::Outcome<points::Reserved> reserve(const points::Reserve& r, const Message& m);
  worker::Outcome<points::Undone> release(const points::ReleaseByOrder& r, const Message& m);
  worker::Outcome<points::Debited> debit(const points::ReservationRef& r, const Message& m);
  worker::Outcome<points::Undone> refund(const points::ReservationRef& r, const Message& m);
  worker::Outcome<points::Added> add(const points::Add& a, const Message& m);
  worker::Outcome<points::Undone> revoke(const points::CreditRef& r, const Message& m);
  void record(const Message& m, std::string kind, const std::string& reservation,
              std::int64_t amount);

  mutable std::mutex mutex_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Reservation> reservations_;  // by reservation id
  std::map<std::string, std::string> holds_;         // order id -> reservation id
  std::set<std::string> released_unheld_;            // orders released before any hold
  struct Credit {
    std::string credit_id;
    std::string user;
    std::int64_t amount = 0;
    bool revoked = false;
  };
  std::map<std::string, Credit> credits_;  // by reference
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
