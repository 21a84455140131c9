#pragma once
// The special-offer module of seed 000: orders that are pending until fulfilled (bought) or
// cancelled. Every change is written to a ledger under the command's idempotency key, so that
// tests and the demo can check that each effect happened at most once.
//
// An order is made under a reference the saga knows before sending (its id): create_order is
// unique per reference, and cancel_order finds the order by it, so that the compensation works
// even when create_order's reply was lost. A reference cancelled before any order was made under
// it stays cancelled: a create_order arriving late for it (held up in the broker) makes nothing.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/offers.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class OffersService {
 public:
  enum class OrderStatus { pending, bought, cancelled };
  struct Order {
    std::string reference;
    std::string user;
    std::string offer;
    std::int64_t price = 0;
    OrderStatus status = OrderStatus::pending;
  };
  struct Effect {
    std::string command_id;
    std::string kind;  // create, cancel, fulfil
    std::string order_id;
  };

  // Registers offers.create_order, offers.cancel_order and offers.fulfil.
  void register_handlers(worker::Dispatcher& dispatcher);
  // An offer that fulfil refuses (sold out), for failure scenarios.
  void sell_out(const std::string& offer);

  std::map<std::string, Order> orders() const;  // by order id
  // The id of the order made under `reference`; empty when none was.
  std::string order_id_by_reference(const std::string& reference) const;
  std::vector<Effect> ledger() const;

 private:
  worker::Outcome<offers::OrderState> create_order(const offers::CreateOrder& c, const Message& m);
  worker::Outcome<offers::Cancelled> cancel_order(const offers::CancelByReference& c,
                                                  const Message& m);
  worker::Outcome<offers::OrderState> fulfil(const offers::OrderRef& r, const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Order> orders_;            // by order id
  std::map<std::string, std::string> references_;  // reference -> order id
  std::set<std::string> cancelled_unmade_;         // references cancelled before any order
  std::map<std::string, bool> sold_out_;
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
