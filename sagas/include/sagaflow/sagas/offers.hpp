#pragma once
// The special-offer module of seed 000: orders that are pending until fulfilled (bought) or
// cancelled. Every change is written to a ledger under the command's idempotency key, so that
// tests and the demo can check that each effect happened at most once.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/offers.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class OffersService {
 public:
  enum class OrderStatus { pending, bought, cancelled };
  struct Order {
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

  std::map<std::string, Order> orders() const;
  std::vector<Effect> ledger() const;

 private:
  worker::Outcome<offers::OrderState> create_order(const offers::CreateOrder& c, const Message& m);
  worker::Outcome<offers::OrderState> cancel_order(const offers::OrderRef& r, const Message& m);
  worker::Outcome<offers::OrderState> fulfil(const offers::OrderRef& r, const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Order> orders_;
  std::map<std::string, bool> sold_out_;
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
