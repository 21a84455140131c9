#include "sagaflow/sagas/participants.hpp"

#include <algorithm>
#include <cstdint>

namespace sagaflow::sagas {

Participants::Participants() {
  auto serve = [this](const std::string& service, auto& participant) {
    participant.register_handlers(dispatchers_[service]);
  };
  serve("points", points);
  serve("offers", offers);
  serve("users", users);
  serve("billing", billing);
  serve("notifications", notifications);
  serve("orders", orders);
  serve("coupons", coupons);
  serve("inventory", inventory);
  serve("platform", platform);
  serve("payment_gateway", payment_gateway);
  serve("certificates", certificates);
  serve("payments", payments);
  serve("sms", sms);
  serve("booking", booking);
  // The SMS gateway reads each CVC from the certificates service (never from the saga).
  sms.set_cvc_source([this](const std::string& code) { return certificates.cvc(code); });
}

json::object Participants::report(const std::vector<std::string>& services) const {
  json::object report;
  for (const auto& service : services) {
    auto keys = applied_keys(service);
    std::sort(keys.begin(), keys.end());
    std::int64_t repeated = 0;
    for (std::size_t i = 1; i < keys.size(); ++i) repeated += keys[i] == keys[i - 1];
    report[service] =
        json::object{{"applied", static_cast<std::int64_t>(keys.size())}, {"repeated", repeated}};
  }
  return report;
}

void Participants::set_event_sink(EventSink sink) {
  payments.set_event_sink(std::move(sink));
}

void Participants::for_each_service(const Serve& serve) {
  for (auto& [service, dispatcher] : dispatchers_) serve(service, dispatcher);
}

void Participants::for_each_subscription(const Subscribe& subscribe) {
  for (const auto& type : IntegrationService::event_types()) {
    subscribe(type, [this](const Message& event) { integration.handle(event); });
  }
}

worker::Dispatcher* Participants::dispatcher(const std::string& service) {
  auto it = dispatchers_.find(service);
  return it == dispatchers_.end() ? nullptr : &it->second;
}

std::vector<std::string> Participants::service_names() const {
  std::vector<std::string> names;
  for (const auto& [service, dispatcher] : dispatchers_) names.push_back(service);
  return names;
}

std::vector<std::string> Participants::applied_keys(const std::string& service) const {
  std::vector<std::string> keys;
  auto from = [&keys](const auto& ledger) {
    for (const auto& effect : ledger) keys.push_back(effect.command_id);
  };
  if (service == "points") from(points.ledger());
  if (service == "offers") from(offers.ledger());
  if (service == "users") from(users.ledger());
  if (service == "billing") from(billing.ledger());
  if (service == "notifications") from(notifications.ledger());
  if (service == "orders") from(orders.ledger());
  if (service == "coupons") from(coupons.ledger());
  if (service == "inventory") from(inventory.ledger());
  if (service == "platform") from(platform.ledger());
  if (service == "payment_gateway") from(payment_gateway.ledger());
  if (service == "certificates") from(certificates.ledger());
  if (service == "payments") from(payments.ledger());
  if (service == "booking") from(booking.ledger());
  return keys;
}

}  // namespace sagaflow::sagas
