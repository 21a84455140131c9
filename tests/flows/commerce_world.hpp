#pragma once
// The commerce participants of seeds 001 and 004 (users, billing, notifications, orders,
// coupons, inventory, platform), each on its own dispatcher, served in a FlowWorld that loads
// the given flows. Shared by the user_registration, order_payment, order_cancellation and
// coupon_issue flow tests.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "flow_world.hpp"
#include "sagaflow/sagas/billing.hpp"
#include "sagaflow/sagas/coupons.hpp"
#include "sagaflow/sagas/inventory.hpp"
#include "sagaflow/sagas/notifications.hpp"
#include "sagaflow/sagas/orders.hpp"
#include "sagaflow/sagas/platform.hpp"
#include "sagaflow/sagas/users.hpp"

namespace sagaflow::testing {

struct CommerceWorld {
  explicit CommerceWorld(std::initializer_list<std::string_view> flows) : world(flows) {
    users.register_handlers(users_d);
    billing.register_handlers(billing_d);
    notifications.register_handlers(notifications_d);
    orders.register_handlers(orders_d);
    coupons.register_handlers(coupons_d);
    inventory.register_handlers(inventory_d);
    platform.register_handlers(platform_d);
    world.serve("users", users_d);
    world.serve("billing", billing_d);
    world.serve("notifications", notifications_d);
    world.serve("orders", orders_d);
    world.serve("coupons", coupons_d);
    world.serve("inventory", inventory_d);
    world.serve("platform", platform_d);
  }

  // Every participant's ledger holds each idempotency key at most once: however often a command
  // was retried or redelivered, its effect happened once.
  bool each_effect_once() const {
    auto unique = [](const std::vector<sagas::Effect>& ledger) {
      std::set<std::string> keys;
      for (const auto& e : ledger) {
        if (!keys.insert(e.command_id).second) return false;
      }
      return true;
    };
    return unique(users.ledger()) && unique(billing.ledger()) && unique(orders.ledger()) &&
           unique(coupons.ledger()) && unique(inventory.ledger()) && unique(platform.ledger()) &&
           unique(notifications.ledger());
  }
  // The invariants of FLOWS.md: money conserved, stock + reserved == initial, each coupon used
  // at most once; and no record twice on the platform.
  bool invariants_hold() const {
    return billing.conserved() && inventory.balanced() && coupons.used_at_most_once() &&
           platform.consistent() && users.consistent() && each_effect_once();
  }

  FlowWorld world;
  sagas::UsersService users;
  sagas::BillingService billing;
  sagas::NotificationsService notifications;
  sagas::OrdersService orders;
  sagas::CouponsService coupons;
  sagas::InventoryService inventory;
  sagas::PlatformService platform;
  worker::Dispatcher users_d, billing_d, notifications_d, orders_d, coupons_d, inventory_d,
      platform_d;
};

}  // namespace sagaflow::testing
