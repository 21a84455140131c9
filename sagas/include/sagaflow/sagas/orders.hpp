#pragma once
// The order service of seeds 001 and 004. An order goes
//   created -> paid -> cancelling -> cancelled      (cancelling -> paid when a cancel is undone)
//   created -> not_paid                             (the payment saga compensated)
// Every applied transition is written to a ledger keyed by the command's idempotency key.
//
// An order is made under a reference the saga knows before sending (its id): create is unique
// per reference, and reject finds the order by it, so that the compensation works even when
// create's reply was lost. A reference rejected before any order was made under it stays
// rejected: a create arriving late for it (held up in the broker) makes nothing.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/orders.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class OrdersService {
 public:
  enum class Status { created, not_paid, paid, cancelling, cancelled };
  struct Order {
    std::string reference;
    std::string user;
    std::string product;
    std::int64_t quantity = 0;
    std::int64_t price = 0;
    std::int64_t total = 0;  // price * quantity
    std::int64_t paid = 0;   // what billing charged (total minus the coupon's discount)
    Status status = Status::created;
  };

  static const char* to_string(Status status);

  // Registers orders.create, orders.reject, orders.mark_paid, orders.begin_cancel,
  // orders.abort_cancel and orders.mark_cancelled.
  void register_handlers(worker::Dispatcher& dispatcher);

  std::map<std::string, Order> orders() const;
  Order order(const std::string& order_id) const;  // a default Order when unknown
  // The id of the order made under `reference`; empty when none was.
  std::string order_id_by_reference(const std::string& reference) const;
  std::vector<Effect> ledger() const;

 private:
  worker::Outcome<orders::Created> create(const orders::Create& c, const Message& m);
  worker::Outcome<orders::Rejected> reject(const orders::RejectByReference& r, const Message& m);
  worker::Outcome<orders::OrderState> mark_paid(const orders::MarkPaid& p, const Message& m);
  worker::Outcome<orders::Cancelling> begin_cancel(const orders::OrderRef& r, const Message& m);
  worker::Outcome<orders::OrderState> abort_cancel(const orders::OrderRef& r, const Message& m);
  worker::Outcome<orders::OrderState> mark_cancelled(const orders::OrderRef& r, const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Order> orders_;            // by order id
  std::map<std::string, std::string> references_;  // reference -> order id
  std::set<std::string> rejected_unmade_;          // references rejected before any order
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
