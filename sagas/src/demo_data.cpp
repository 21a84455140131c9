#include "sagaflow/sagas/demo_data.hpp"

#include <string>

namespace sagaflow::sagas {

void seed_demo_data(Participants& p) {
  // offer_purchase: alice can buy, bob cannot afford it, the concert sells out after the debit.
  p.points.open_account("alice", 1000);
  p.points.open_account("bob", 100);
  p.points.open_account("carol", 1000);
  p.offers.sell_out("concert");

  // booking_payment: a slot with room and one fully booked.
  p.booking.add_slot("mon-10", 10);
  p.booking.add_slot("sat-10", 0);  // fully booked

  // user_registration: billing refuses u-kim; the username lea is taken.
  p.billing.block("u-kim");
  p.users.add_user("u-old", "lea", "lea@example.test");

  // order_payment and order_cancellation: funded accounts with contacts, stock, coupons.
  for (const char* user : {"u-mia", "u-ned", "u-ola", "u-pat", "u-rex", "u-sam", "u-tom"}) {
    p.billing.open_account(user, 5000);
    p.notifications.save_contact(user, std::string(user).substr(2) + "@example.test");
  }
  p.billing.open_account("u-poor", 100);
  p.notifications.save_contact("u-poor", "poor@example.test");
  p.inventory.add_stock("lamp", 20);
  p.inventory.add_stock("rare-vase", 1);
  p.coupons.add_coupon("WELCOME10", 100);
  p.coupons.add_coupon("SPRING", 50);
  p.coupons.expire("SPRING");

  // coupon_issue: the target users.
  for (const char* user : {"u-ann", "u-ben", "u-cat"}) {
    const auto name = std::string(user).substr(2);
    p.users.add_user(user, name, name + "@example.test");
    p.notifications.save_contact(user, name + "@example.test");
  }

  // points_charge: cards at the gateway; wes's is declined, xia's points account is frozen.
  p.points.open_account("vic", 0);
  p.points.open_account("wes", 0);
  p.points.open_account("xia", 0);
  p.points.freeze("xia");
  p.payment_gateway.register_method("card-vic", 10'000);
  p.payment_gateway.register_method("card-wes", 10'000);
  p.payment_gateway.register_method("card-xia", 10'000);
  p.payment_gateway.decline("card-wes");

  // certificate_activation: codes for sale, and GC-900 sold long ago.
  for (const char* code : {"GC-101", "GC-102", "GC-201", "GC-301", "GC-302"}) {
    p.certificates.add_code(code);
  }
  p.certificates.issue("GC-900", 1'000);  // sold long ago

  // certificate_redemption: active certificates and the orders' payments they pay towards.
  p.certificates.issue("GC-501", 5'000);
  p.certificates.issue("GC-502", 1'000);
  p.certificates.issue("GC-503", 5'000);
  p.certificates.issue("GC-504", 5'000);
  p.certificates.issue("GC-505", 5'000);
  // The orders' payments, opened before the sagas; pay-505 owes less than its certificate.
  p.payments.open_payment("pay-501", 3'000);
  p.payments.open_payment("pay-502", 3'000);
  p.payments.open_payment("pay-503", 3'000);
  p.payments.open_payment("pay-504", 3'000);
  p.payments.open_payment("pay-505", 500);
}

}  // namespace sagaflow::sagas
