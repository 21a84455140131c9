#pragma once
// The billing (balance) service of seeds 001 and 004: one account per user, charges per order
// and their refunds. Money is conserved: for every account,
//   balance + charged == funded + refunded
// where `funded` is the opening balance plus every deposit, `charged` every amount ever charged
// and `refunded` every amount given back; and no charge is refunded more than once.
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/billing.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class BillingService {
 public:
  struct Account {
    std::int64_t funded = 0;  // opening balance + deposits
    std::int64_t balance = 0;
    std::int64_t charged = 0;
    std::int64_t refunded = 0;
    bool closed = false;
  };
  enum class ChargeState { charged, refunded };
  struct Charge {
    std::string charge_id;
    std::string user;
    std::int64_t amount = 0;
    ChargeState state = ChargeState::charged;
  };

  // `opening_balance`: what an account made by billing.create_account starts with.
  explicit BillingService(std::int64_t opening_balance = 0);

  // An account that exists before any saga (tests, the demo).
  void open_account(const std::string& user, std::int64_t balance);
  // Adds money to an open account (a top-up); false when there is none.
  bool deposit(const std::string& user, std::int64_t amount);
  // A user billing refuses to open an account for (sanctions list): create_account answers the
  // business failure AccountBlocked.
  void block(const std::string& user);
  // Registers billing.create_account, billing.delete_account, billing.charge and billing.refund.
  void register_handlers(worker::Dispatcher& dispatcher);

  bool has_account(const std::string& user) const;  // open (not closed)
  Account account(const std::string& user) const;
  std::map<std::string, Charge> charges() const;  // by order id
  std::vector<Effect> ledger() const;
  // balance + charged == funded + refunded for every account, refunded <= charged, and the
  // charges agree with the accounts.
  bool conserved() const;

 private:
  worker::Outcome<billing::AccountCreated> create_account(const billing::AccountRef& r,
                                                          const Message& m);
  worker::Outcome<billing::Undone> delete_account(const billing::AccountRef& r, const Message& m);
  worker::Outcome<billing::Charged> charge(const billing::Charge& c, const Message& m);
  worker::Outcome<billing::Refunded> refund(const billing::Refund& r, const Message& m);

  std::int64_t opening_balance_;
  mutable std::mutex mutex_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Charge> charges_;  // by order id: an order is charged at most once
  std::set<std::string> blocked_;
  std::vector<Effect> ledger_;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
