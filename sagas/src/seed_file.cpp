#include "sagaflow/sagas/seed_file.hpp"

#include <functional>
#include <map>
#include <stdexcept>

namespace sagaflow::sagas {
namespace {

// One call's arguments, checked by position.
class Arguments {
 public:
  Arguments(const json::array& call, std::string name) : call_(call), name_(std::move(name)) {}
  std::string text(std::size_t i) const {
    const auto* value = at(i).if_string();
    if (value == nullptr) fail(i, "a string");
    return std::string(*value);
  }
  std::int64_t number(std::size_t i) const {
    const auto* value = at(i).if_int64();
    if (value == nullptr) fail(i, "an integer");
    return *value;
  }
  void expect(std::size_t count) const {
    if (call_.size() != count + 1) {
      throw std::invalid_argument("seed call " + name_ + " takes " + std::to_string(count) +
                                  " arguments, not " + std::to_string(call_.size() - 1));
    }
  }

 private:
  const json::value& at(std::size_t i) const { return call_.at(i + 1); }
  [[noreturn]] void fail(std::size_t i, const char* what) const {
    throw std::invalid_argument("seed call " + name_ + ": argument " + std::to_string(i + 1) +
                                " must be " + what);
  }
  const json::array& call_;
  std::string name_;
};

using Call = std::function<void(Participants&, const Arguments&)>;

const std::map<std::string, std::pair<std::size_t, Call>>& calls_known() {
  static const std::map<std::string, std::pair<std::size_t, Call>> known{
      {"points.open_account",
       {2, [](Participants& p,
              const Arguments& a) { p.points.open_account(a.text(0), a.number(1)); }}},
      {"points.freeze",
       {1, [](Participants& p, const Arguments& a) { p.points.freeze(a.text(0)); }}},
      {"offers.sell_out",
       {1, [](Participants& p, const Arguments& a) { p.offers.sell_out(a.text(0)); }}},
      {"booking.add_slot",
       {2,
        [](Participants& p, const Arguments& a) { p.booking.add_slot(a.text(0), a.number(1)); }}},
      {"billing.open_account",
       {2, [](Participants& p,
              const Arguments& a) { p.billing.open_account(a.text(0), a.number(1)); }}},
      {"billing.block",
       {1, [](Participants& p, const Arguments& a) { p.billing.block(a.text(0)); }}},
      {"users.add_user",
       {3, [](Participants& p,
              const Arguments& a) { p.users.add_user(a.text(0), a.text(1), a.text(2)); }}},
      {"notifications.save_contact",
       {2, [](Participants& p,
              const Arguments& a) { p.notifications.save_contact(a.text(0), a.text(1)); }}},
      {"inventory.add_stock",
       {2, [](Participants& p,
              const Arguments& a) { p.inventory.add_stock(a.text(0), a.number(1)); }}},
      {"coupons.add_coupon",
       {2,
        [](Participants& p, const Arguments& a) { p.coupons.add_coupon(a.text(0), a.number(1)); }}},
      {"coupons.expire",
       {1, [](Participants& p, const Arguments& a) { p.coupons.expire(a.text(0)); }}},
      {"payment_gateway.register_method",
       {2, [](Participants& p,
              const Arguments& a) { p.payment_gateway.register_method(a.text(0), a.number(1)); }}},
      {"payment_gateway.decline",
       {1, [](Participants& p, const Arguments& a) { p.payment_gateway.decline(a.text(0)); }}},
      {"certificates.add_code",
       {1, [](Participants& p, const Arguments& a) { p.certificates.add_code(a.text(0)); }}},
      {"certificates.issue",
       {2,
        [](Participants& p, const Arguments& a) { p.certificates.issue(a.text(0), a.number(1)); }}},
      {"payments.open_payment",
       {2, [](Participants& p,
              const Arguments& a) { p.payments.open_payment(a.text(0), a.number(1)); }}},
  };
  return known;
}

const json::array& as_calls(const json::value& calls) {
  const auto* list = calls.if_array();
  if (list == nullptr) throw std::invalid_argument("the seed must be a JSON list of calls");
  for (const auto& call : *list) {
    const auto* parts = call.if_array();
    if (parts == nullptr || parts->empty() || !parts->front().is_string()) {
      throw std::invalid_argument("every seed call is a list: [\"service.call\", arguments...]");
    }
  }
  return *list;
}

}  // namespace

void seed_from_calls(Participants& participants, const json::value& calls) {
  for (const auto& call : as_calls(calls)) {
    const auto& parts = call.as_array();
    const std::string name(parts.front().as_string());
    const auto known = calls_known().find(name);
    if (known == calls_known().end()) throw std::invalid_argument("unknown seed call " + name);
    const Arguments arguments(parts, name);
    arguments.expect(known->second.first);
    try {
      known->second.second(participants, arguments);
    } catch (const std::invalid_argument&) {
      throw;
    } catch (const std::exception& error) {
      throw std::invalid_argument("seed call " + name + " refused: " + error.what());
    }
  }
}

json::object seed_holdings(const Participants& p, const json::value& calls) {
  json::object points, billing, inventory, gateway, certificates, booking;
  for (const auto& call : as_calls(calls)) {
    const auto& parts = call.as_array();
    const std::string name(parts.front().as_string());
    if (parts.size() < 2 || !parts[1].is_string()) continue;
    const std::string id(parts[1].as_string());
    if (name == "points.open_account") points[id] = p.points.account(id).balance;
    if (name == "billing.open_account") billing[id] = p.billing.account(id).balance;
    if (name == "inventory.add_stock") inventory[id] = p.inventory.product(id).stock;
    if (name == "payment_gateway.register_method") gateway[id] = p.payment_gateway.method(id).funds;
    if (name == "certificates.issue" || name == "certificates.add_code")
      certificates[id] = p.certificates.certificate(id).balance;
    if (name == "booking.add_slot") booking[id] = p.booking.availability(id).booked;
  }
  return json::object{
      {"points", std::move(points)},
      {"billing", std::move(billing)},
      {"inventory", std::move(inventory)},
      {"payment_gateway", std::move(gateway)},
      {"certificates", std::move(certificates)},
      {"booking", std::move(booking)},
      {"invariants",
       json::object{{"points conserved", p.points.conserved()},
                    {"money conserved", p.billing.conserved()},
                    {"stock balanced", p.inventory.balanced()},
                    {"coupons used at most once", p.coupons.used_at_most_once()},
                    {"users consistent", p.users.consistent()},
                    {"platform has each order once", p.platform.consistent()},
                    {"gateway money conserved", p.payment_gateway.conserved()},
                    {"certificate invariants", p.certificates.invariants_hold()},
                    {"one CVC SMS per certificate", p.sms.each_line_sent_at_most_once()},
                    {"bookings within capacity", p.booking.invariant_holds()},
                    {"payments succeeded at most once", p.payments.invariant_holds()}}}};
}

}  // namespace sagaflow::sagas
