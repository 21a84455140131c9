#pragma once
// Every example participant of the nine flows, each with the dispatcher its commands are served
// by, under the service name flows address commands to. The embedded daemon serves them all on
// its in-process bus; a participant process (over a broker) serves one of them.
#include <functional>
#include <map>
#include <string>
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
  std::map<std::string, worker::Dispatcher> dispatchers_;
};

}  // namespace sagaflow::sagas
