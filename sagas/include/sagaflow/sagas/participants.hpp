#pragma once
// Every example participant of the nine flows, each with the dispatcher its commands are served
// by, under the service name flows address commands to. The embedded daemon serves them all on
// its in-process bus; a participant process (over a broker) serves one of them.
//
// State: in memory, or kept in a durable SQLite file (open_state): then every command answered
// (success or business failure) is journaled in the transactional inbox's transaction, with its
// idempotency key and its reply (worker/inbox.hpp), and a process killed at any moment rebuilds
// its balances, stock, holds and ledgers on restart by replaying the journal, in commit order,
// through the same business rules. Schema, beside the inbox's own tables:
//   participant_journal(seq INTEGER PRIMARY KEY, service TEXT, message TEXT)  -- the command,
//                                                       as JSON (journal.hpp), in commit order
//   participant_setup(setup TEXT)  -- what the accounts, stock and codes were seeded with
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/sagas/billing.hpp"
#include "sagaflow/sagas/booking.hpp"
#include "sagaflow/sagas/certificates.hpp"
#include "sagaflow/sagas/coupons.hpp"
#include "sagaflow/sagas/event_sink.hpp"
#include "sagaflow/sagas/integration.hpp"
#include "sagaflow/sagas/inventory.hpp"
#include "sagaflow/sagas/notifications.hpp"
#include "sagaflow/sagas/offers.hpp"
#include "sagaflow/sagas/orders.hpp"
#include "sagaflow/sagas/payment_gateway.hpp"
#include "sagaflow/sagas/payments.hpp"
#include "sagaflow/sagas/platform.hpp"
#include "sagaflow/sagas/points.hpp"
#include "sagaflow/sagas/sms.hpp"
#include "sagaflow/sagas/users.hpp"

namespace sagaflow::sagas {

class Participants {
 public:
  using Serve = std::function<void(const std::string& service, worker::Dispatcher& dispatcher)>;
  using EventHandler = std::function<void(const Message& event)>;
  using Subscribe = std::function<void(const std::string& event_type, EventHandler handler)>;

  Participants();
  Participants(const Participants&) = delete;
  Participants& operator=(const Participants&) = delete;

  // Keeps the state in the SQLite file at `path` (created when missing): replays what the file
  // journaled, then serves every service through a transactional inbox on it (group commit, one
  // savepoint per command). Call once, after seeding and before serving. `setup` names how the
  // participants were seeded (e.g. "demo-data"): the journal only makes sense on the same start,
  // so a file seeded otherwise is refused (std::runtime_error), as is an unreadable file.
  void open_state(const std::string& path, std::string_view setup);
  // Whether open_state() was called: commands are then committed to the file.
  bool durable() const { return state_ != nullptr; }

  // Where participants publish outside events (payments, after the gateway's webhook).
  void set_event_sink(EventSink sink);
  // Every command-serving participant, by service name.
  void for_each_service(const Serve& serve);
  // The event types subscribing participants consume (integration), with their handler.
  void for_each_subscription(const Subscribe& subscribe);
  // One participant's dispatcher; nullptr for an unknown service name.
  worker::Dispatcher* dispatcher(const std::string& service);
  std::vector<std::string> service_names() const;
  // The idempotency keys of the effects a service applied, in order (its ledger). A key twice
  // would be a command applied twice; sms keeps sent messages, not a ledger, and has none.
  std::vector<std::string> applied_keys(const std::string& service) const;
  // {"points": {"applied": 12, "repeated": 0}, ...} for `services`: how many effects each
  // applied, and how many idempotency keys it applied more than once (must stay 0).
  json::object report(const std::vector<std::string>& services) const;

  PointsService points;
  OffersService offers;
  UsersService users;
  BillingService billing;
  NotificationsService notifications;
  OrdersService orders;
  CouponsService coupons;
  InventoryService inventory;
  PlatformService platform;
  PaymentGatewayService payment_gateway;
  CertificatesService certificates;
  PaymentsService payments;
  SmsService sms;
  BookingService booking;
  IntegrationService integration;

 private:
  struct State;
  // With open_state(): the file and the in-memory rules the served dispatchers call; declared
  // first, so that it outlives them.
  std::shared_ptr<State> state_;
  std::map<std::string, worker::Dispatcher> dispatchers_;
};

}  // namespace sagaflow::sagas
