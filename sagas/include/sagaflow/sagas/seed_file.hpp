#pragma once
// Seeding the participants from a JSON file (`sagaflow-participant --seed FILE`), so that a test
// or a fault harness gives every saga resources of its own (an account, a slot, a code...) whose
// values decide how that saga ends, whatever order the sagas run in. The file is a list of calls,
// the same set-up calls seed_demo_data makes:
//
//   [["points.open_account", "alice", 1000], ["points.freeze", "xia"],
//    ["offers.sell_out", "concert"], ["booking.add_slot", "mon-10", 10],
//    ["billing.open_account", "u-mia", 5000], ["billing.block", "u-kim"],
//    ["users.add_user", "u-old", "lea", "lea@example.test"],
//    ["notifications.save_contact", "u-mia", "mia@example.test"],
//    ["inventory.add_stock", "lamp", 20], ["coupons.add_coupon", "WELCOME10", 100],
//    ["coupons.expire", "SPRING"], ["payment_gateway.register_method", "card-vic", 10000],
//    ["payment_gateway.decline", "card-wes"], ["certificates.add_code", "GC-101"],
//    ["certificates.issue", "GC-501", 5000], ["payments.open_payment", "pay-501", 3000]]
//
// and seed_holdings reads back, for every resource such a list seeded, where it stands now.
#include <string>

#include "sagaflow/json.hpp"
#include "sagaflow/sagas/participants.hpp"

namespace sagaflow::sagas {

// Applies every call of `calls` (the list above). Throws std::invalid_argument naming the call
// for an unknown call, a wrong argument, or a call the participant refuses.
void seed_from_calls(Participants& participants, const json::value& calls);

// For the resources `calls` seeded: {"points": {user: balance}, "billing": {user: balance},
// "inventory": {product: stock}, "payment_gateway": {method: funds}, "certificates": {code:
// balance}, "booking": {slot: booked}}, and "invariants": each participant's own invariant
// (points conserved, money conserved, stock balanced...) by name, true when it holds.
json::object seed_holdings(const Participants& participants, const json::value& calls);

}  // namespace sagaflow::sagas
