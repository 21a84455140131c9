// The scenario set: for every flow its happy path and its main failure paths, each with the
// final status it must reach, and the invariants of ../shared/FLOWS.md over the participants'
// ledgers. The accounts, stock, codes and slots they use are sagas::seed_demo_data's.
#include <algorithm>
#include <stdexcept>
#include <thread>

#include "demo/demo.hpp"

namespace sagaflow::demo {
namespace {

using json::object;

Scenario make(std::string flow, std::string name, std::string expected, json::value input) {
  Scenario s;
  s.flow = flow;
  s.name = std::move(name);
  s.expected = std::move(expected);
  s.start = [flow, input = std::move(input)](World& w) { return w.start(flow, input); };
  return s;
}

// offer_purchase (seed 000).
void offer_purchase(std::vector<Scenario>& out) {
  auto buy = [](const char* user, const char* offer, std::int64_t price) {
    return object{{"user_id", user}, {"offer_id", offer}, {"price", price}};
  };
  out.push_back(make("offer_purchase", "enough points", "completed", buy("alice", "spa", 400)));
  out.push_back(make("offer_purchase", "not enough points", "compensated", buy("bob", "spa", 400)));
  out.push_back(make("offer_purchase", "offer sold out after the debit", "compensated",
                     buy("carol", "concert", 300)));
}

// booking_payment (seed 003): the client pays on the gateway's page, the gateway calls the
// payments service's webhook, which publishes payment.succeeded or payment.failed.
void booking_payment(sagas::Participants& p, std::vector<Scenario>& out) {
  auto book = [](const char* customer, const char* slot) {
    return object{{"customer_id", customer}, {"slot_id", slot}, {"amount", 1500}};
  };
  // The gateway's callbacks, in order, once the saga waits for the payment.
  auto gateway = [&p](std::vector<std::string> callbacks) {
    return [&p, callbacks](World& w, const std::string& saga) {
      if (!w.wait_for(saga, {Status::waiting})) return;
      auto payment = w.result(saga, "create_payment").at("payment_id").as_string();
      for (const auto& status : callbacks) {
        auto body = status == "garbage"
                        ? std::string("{\"payment_id\": ")
                        : sagas::PaymentsService::webhook_body(std::string(payment), status, 1500);
        p.payments.handle_webhook(body);
      }
    };
  };
  auto paid = make("booking_payment", "the client pays", "completed", book("dan", "mon-10"));
  paid.drive = gateway({"succeeded"});
  out.push_back(paid);
  out.push_back(make("booking_payment", "slot unavailable: nothing published", "compensated",
                     book("eve", "sat-10")));
  auto retried = make("booking_payment", "payment fails, then the client pays again", "completed",
                      book("fay", "mon-10"));
  retried.drive = gateway({"failed", "succeeded"});
  out.push_back(retried);
  auto twice = make("booking_payment", "the gateway calls the webhook twice", "completed",
                    book("gus", "mon-10"));
  twice.drive = gateway({"succeeded", "succeeded"});
  out.push_back(twice);
  auto garbage = make("booking_payment", "a webhook the payments service cannot read, then paid",
                      "completed", book("hal", "mon-10"));
  garbage.drive = gateway({"garbage", "succeeded"});
  out.push_back(garbage);
  auto never = make("booking_payment", "the payment never comes: the wait times out", "compensated",
                    book("ivy", "mon-10"));
  never.jump = std::chrono::minutes(31);
  out.push_back(never);
}

// user_registration (seed 001): the user first, then billing and notifications in parallel.
void user_registration(std::vector<Scenario>& out) {
  auto user = [](const char* id, const char* name) {
    return object{
        {"user_id", id}, {"username", name}, {"email", std::string(name) + "@example.test"}};
  };
  out.push_back(make("user_registration", "a new user", "completed", user("u-jan", "jan")));
  out.push_back(make("user_registration", "billing refuses a blocked user", "compensated",
                     user("u-kim", "kim")));
  out.push_back(
      make("user_registration", "username already taken", "compensated", user("u-lea", "lea")));
}

object order(const char* user, const char* product, std::int64_t quantity, const char* coupon) {
  object o{{"user_id", user}, {"product_id", product}, {"quantity", quantity}, {"price", 500}};
  if (coupon != nullptr) o["coupon"] = coupon;
  return o;
}

// order_payment (seeds 001, 004): coupon, stock, charge, then only forward past mark_paid.
void order_payment(sagas::Participants& p, std::vector<Scenario>& out) {
  out.push_back(make("order_payment", "paid with a coupon", "completed",
                     order("u-mia", "lamp", 2, "WELCOME10")));
  out.push_back(make("order_payment", "paid without a coupon", "completed",
                     order("u-ned", "lamp", 1, nullptr)));
  // Started once the first order has used the coupon, so that the outcome does not depend on
  // which of two sagas is quicker.
  auto again = make("order_payment", "the same coupon used a second time", "compensated",
                    order("u-ola", "lamp", 1, "WELCOME10"));
  again.start = [&p, input = order("u-ola", "lamp", 1, "WELCOME10")](World& w) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (p.coupons.coupon("WELCOME10").status != sagas::CouponsService::Status::used &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return w.start("order_payment", input);
  };
  out.push_back(again);
  out.push_back(make("order_payment", "an expired coupon", "compensated",
                     order("u-pat", "lamp", 1, "SPRING")));
  out.push_back(make("order_payment", "out of stock", "compensated",
                     order("u-rex", "rare-vase", 2, nullptr)));
  out.push_back(make("order_payment", "insufficient funds", "compensated",
                     order("u-poor", "lamp", 1, nullptr)));
  auto platform_down = make("order_payment", "the data platform is down for a while", "completed",
                            order("u-sam", "lamp", 1, nullptr));
  platform_down.start = [&p, input = order("u-sam", "lamp", 1, nullptr)](World& w) {
    p.platform.fail_next_calls(2);  // retried with backoff past the pivot: 1 s, then 2 s
    return w.start("order_payment", input);
  };
  out.push_back(platform_down);
}

// order_cancellation (seed 004): only a paid order can be cancelled.
void order_cancellation(std::vector<Scenario>& out) {
  Scenario paid = make("order_cancellation", "cancel a paid order", "completed", nullptr);
  paid.start = [](World& w) {
    auto payment = w.start("order_payment", order("u-tom", "lamp", 3, nullptr));
    if (!w.wait_for(payment, {Status::completed}))
      throw std::runtime_error("the order was not paid");
    auto order_id = w.result(payment, "create_order").at("order_id");
    return w.start("order_cancellation", object{{"order_id", order_id}});
  };
  out.push_back(paid);
  out.push_back(make("order_cancellation", "an order that does not exist", "compensated",
                     object{{"order_id", "ord-404"}}));
}

// coupon_issue (seed 004): the coupon, then every target user, then the notification.
void coupon_issue(std::vector<Scenario>& out) {
  auto issue = [](const char* coupon, json::array users) {
    return object{{"coupon_id", coupon}, {"discount", 200}, {"user_ids", std::move(users)}};
  };
  out.push_back(make("coupon_issue", "issued to three users", "completed",
                     issue("SUMMER", json::array{"u-ann", "u-ben", "u-cat"})));
  out.push_back(make("coupon_issue", "one target user is unknown", "compensated",
                     issue("AUTUMN", json::array{"u-ann", "u-nobody", "u-cat"})));
}

// points_charge (seed 004): the gateway charges, then points are added; a refund undoes it.
void points_charge(std::vector<Scenario>& out) {
  auto charge = [](const char* user, const char* method) {
    return object{{"user_id", user}, {"amount", 2'500}, {"method", method}};
  };
  out.push_back(
      make("points_charge", "card charged, points added", "completed", charge("vic", "card-vic")));
  out.push_back(make("points_charge", "card declined", "compensated", charge("wes", "card-wes")));
  out.push_back(make("points_charge", "points account frozen: the charge is refunded",
                     "compensated", charge("xia", "card-xia")));
}

json::object certificate_line(const char* line, const char* code, std::int64_t denomination) {
  return object{{"orderLineId", line},
                {"code", code},
                {"plannedDenomination", denomination},
                {"intendedRecipient", object{{"name", "Anna"}, {"phone", "+79161234567"}}}};
}

// certificate_activation (seed 002, scenario 1): started by the All_SalesOrder event; every
// All_Payments event is recorded; activation once the order is settled; CVCs by SMS.
void certificate_activation(std::vector<Scenario>& out) {
  auto sales_order = [](std::string order, json::array lines) {
    return [order, lines](World& w) {
      w.publish("All_SalesOrder", object{{"orderId", order}, {"certificateLines", lines}},
                "sales-order/" + order);
      return w.started_by("certificate_activation", order);
    };
  };
  // All_Payments events of an order, as the payments service publishes them.
  struct Payment {
    std::int64_t version, captured, outstanding;
    json::array allocations;
    std::string id;
  };
  auto payments = [](std::string order, std::vector<Payment> events) {
    return [order, events](World& w, const std::string& saga) {
      if (!w.wait_for(saga, {Status::waiting})) return;
      for (const auto& e : events) {
        w.publish("All_Payments",
                  object{{"orderId", order},
                         {"paymentVersion", e.version},
                         {"capturedAmount", e.captured},
                         {"outstandingAmount", e.outstanding},
                         {"isOrderSettled", e.outstanding == 0},
                         {"certificateAllocations", e.allocations}},
                  e.id);
      }
    };
  };
  auto paid = [](const char* line, std::int64_t amount) {
    return object{{"orderLineId", line}, {"collectedAmount", amount}};
  };

  Scenario two_lines;
  two_lines.flow = "certificate_activation";
  two_lines.name = "two certificates paid in two parts, one event twice, one late";
  two_lines.expected = "completed";
  two_lines.start = sales_order("so-1", json::array{certificate_line("l1", "GC-101", 3'000),
                                                    certificate_line("l2", "GC-102", 2'000)});
  two_lines.drive = payments(
      "so-1", {{1, 3'000, 2'000, json::array{paid("l1", 3'000)}, "pay-so-1/1"},
               {1, 3'000, 2'000, json::array{paid("l1", 3'000)}, "pay-so-1/1"},  // again
               {2, 5'000, 0, json::array{paid("l1", 3'000), paid("l2", 2'000)}, "pay-so-1/2"},
               {1, 3'000, 2'000, json::array{paid("l1", 3'000)}, "pay-so-1/1-late"}});
  out.push_back(two_lines);

  Scenario sold;
  sold.flow = "certificate_activation";
  sold.name = "a code already sold: the other line is released";
  sold.expected = "compensated";
  sold.start = sales_order("so-2", json::array{certificate_line("l1", "GC-201", 1'000),
                                               certificate_line("l2", "GC-900", 1'000)});
  out.push_back(sold);

  Scenario unpaid;
  unpaid.flow = "certificate_activation";
  unpaid.name = "the order is never paid in full: the wait times out";
  unpaid.expected = "compensated";
  unpaid.start = sales_order("so-3", json::array{certificate_line("l1", "GC-301", 1'500),
                                                 certificate_line("l2", "GC-302", 1'500)});
  unpaid.drive =
      payments("so-3", {{1, 1'500, 1'500, json::array{paid("l1", 1'500)}, "pay-so-3/1"}});
  unpaid.jump = std::chrono::hours(73);
  out.push_back(unpaid);
}

// certificate_redemption (seed 002, scenarios 2 and 3): hold, payment confirmed, capture, the
// captured amount applied as a tender to the order's payment.
void certificate_redemption(std::vector<Scenario>& out) {
  auto redeem = [](const char* code, std::int64_t amount, const char* payment) {
    return object{
        {"code", code}, {"amount", amount}, {"payment_id", payment}, {"order_id", "o-900"}};
  };
  auto payment_event = [](const char* type, const char* payment) {
    return [type, payment](World& w, const std::string& saga) {
      if (!w.wait_for(saga, {Status::waiting})) return;
      w.publish(type, object{{"payment_id", payment}}, std::string(type) + "/" + payment);
    };
  };
  auto confirmed = make("certificate_redemption", "payment confirmed: part of the balance captured",
                        "completed", redeem("GC-501", 1'200, "pay-501"));
  confirmed.drive = payment_event("payment.confirmed", "pay-501");
  out.push_back(confirmed);
  out.push_back(make("certificate_redemption", "more than the balance: refused at the hold",
                     "compensated", redeem("GC-502", 1'500, "pay-502")));
  auto failed = make("certificate_redemption", "payment failed: the hold is released",
                     "compensated", redeem("GC-503", 700, "pay-503"));
  failed.drive = payment_event("payment.failed", "pay-503");
  out.push_back(failed);
  auto silent = make("certificate_redemption", "payment never confirmed: the hold is released",
                     "compensated", redeem("GC-504", 700, "pay-504"));
  silent.jump = std::chrono::minutes(16);
  out.push_back(silent);
  // Payments refuses the tender after the capture (AmountExceedsOutstanding): the capture is
  // voided, the balance restored and a Void operation recorded.
  auto refused = make("certificate_redemption",
                      "the order's payment owes less than the certificate after the capture: the "
                      "capture is voided",
                      "compensated", redeem("GC-505", 1'200, "pay-505"));
  refused.drive = payment_event("payment.confirmed", "pay-505");
  out.push_back(refused);
}

}  // namespace

std::vector<Scenario> scenarios(sagas::Participants& p) {
  std::vector<Scenario> out;
  offer_purchase(out);
  user_registration(out);
  order_payment(p, out);
  order_cancellation(out);
  coupon_issue(out);
  points_charge(out);
  certificate_activation(out);
  certificate_redemption(out);
  booking_payment(p, out);
  return out;
}

std::vector<Invariant> invariants(const sagas::Participants& p) {
  std::vector<Invariant> out;
  out.push_back(
      {"points conserved (balance + reserved + spent + revoked == initial + refunded + "
       "added)",
       [&p] { return p.points.conserved(); }});
  out.push_back({"every bought offer has exactly one debit", [&p] {
                   std::int64_t net_debits = 0;
                   for (const auto& e : p.points.ledger())
                     net_debits += (e.kind == "debit") - (e.kind == "refund");
                   std::int64_t bought = 0;
                   for (const auto& [id, order] : p.offers.orders())
                     bought += order.status == sagas::OffersService::OrderStatus::bought;
                   return net_debits == bought;
                 }});
  out.push_back({"no participant applied a command's effect twice", [&p] {
                   for (const auto& service : p.service_names()) {
                     auto keys = p.applied_keys(service);
                     std::sort(keys.begin(), keys.end());
                     if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) return false;
                   }
                   return true;
                 }});
  out.push_back({"money conserved (balance + charged == funded + refunded)",
                 [&p] { return p.billing.conserved(); }});
  out.push_back(
      {"stock + reserved == initial for every product", [&p] { return p.inventory.balanced(); }});
  out.push_back({"each coupon used at most once", [&p] { return p.coupons.used_at_most_once(); }});
  out.push_back({"no two live users share a name or email; deleted users hold no coupons",
                 [&p] { return p.users.consistent(); }});
  out.push_back({"the data platform has each order and cancellation once",
                 [&p] { return p.platform.consistent(); }});
  out.push_back(
      {"money at the payment gateway conserved; points added == charges kept", [&p] {
         std::int64_t net_added = 0;
         for (const auto& e : p.points.ledger())
           net_added += (e.kind == "add" ? e.amount : 0) - (e.kind == "revoke" ? e.amount : 0);
         return p.payment_gateway.conserved() && net_added == p.payment_gateway.captured_total();
       }});
  out.push_back({"certificate balances never below zero",
                 [&p] { return p.certificates.balances_never_negative(); }});
  out.push_back({"every capture voided at most once",
                 [&p] { return p.certificates.each_capture_voided_at_most_once(); }});
  out.push_back({"every certificate code sold at most once",
                 [&p] { return p.certificates.each_code_sold_at_most_once(); }});
  out.push_back({"certificate balances match their operations",
                 [&p] { return p.certificates.balances_match_operations(); }});
  out.push_back({"one CVC SMS per certificate at most",
                 [&p] { return p.sms.each_line_sent_at_most_once(); }});
  out.push_back({"bookings within each slot's capacity; every freed slot was taken once",
                 [&p] { return p.booking.invariant_holds(); }});
  out.push_back(
      {"each payment succeeded at most once, a cancelled one never; tenders within its amount",
       [&p] { return p.payments.invariant_holds(); }});
  out.push_back({"integration told of each booking's creation and confirmation once", [&p] {
                   for (const auto& [id, booking] : p.booking.bookings()) {
                     const bool confirmed =
                         booking.status == sagas::BookingService::Status::confirmed;
                     if (p.integration.count("booking.created", id) != 1) return false;
                     if (p.integration.count("booking.confirmed", id) != (confirmed ? 1 : 0))
                       return false;
                   }
                   return true;
                 }});
  return out;
}

}  // namespace sagaflow::demo
