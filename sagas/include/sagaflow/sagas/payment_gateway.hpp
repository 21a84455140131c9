#pragma once
// An external payment gateway (seed 004, charge points): payment methods with funds, captured
// payments and refunds. A declined card or an unknown method is a business failure. Every applied
// effect is written to a ledger keyed by the command's idempotency key; money is conserved: what
// left a method is held as a captured payment until refunded.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/payment_gateway.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class PaymentGatewayService {
 public:
  enum class PaymentStatus { captured, refunded };
  struct Payment {
    std::string payment_id;
    std::string user;
    std::string method;
    std::int64_t amount = 0;
    PaymentStatus status = PaymentStatus::captured;
  };
  struct Method {
    std::int64_t initial = 0;
    std::int64_t funds = 0;  // what the method can still pay
    bool declined = false;
  };
  struct Effect {
    std::string command_id;
    std::string kind;  // charge, refund
    std::string payment_id;
    std::int64_t amount = 0;
  };

  // A payment method (a card, a wallet) with the funds it can pay.
  void register_method(const std::string& method, std::int64_t funds);
  // Every later charge on this method is declined (CardDeclined).
  void decline(const std::string& method);
  // Registers payment_gateway.charge and payment_gateway.refund.
  void register_handlers(worker::Dispatcher& dispatcher);

  Method method(const std::string& method) const;
  // Payments by reference.
  std::map<std::string, Payment> payments() const;
  std::vector<Effect> ledger() const;
  // For every method: funds + captured (not refunded) payments from it == initial funds.
  bool conserved() const;
  // The merchant's takings: captured minus refunded.
  std::int64_t captured_total() const;

 private:
  worker::Outcome<payment_gateway::Charged> charge(const payment_gateway::Charge& c,
                                                   const Message& m);
  worker::Outcome<payment_gateway::Refunded> refund(const payment_gateway::Refund& r,
                                                    const Message& m);

  mutable std::mutex mutex_;
  std::map<std::string, Method> methods_;
  std::map<std::string, Payment> payments_;  // by reference
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
