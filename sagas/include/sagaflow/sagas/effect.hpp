#pragma once
// One applied effect of a commerce participant, as its ledger keeps it: which command (by its
// idempotency key) did what to which subject. Tests prove with it that every effect happened at
// most once, however often a command was retried or redelivered.
#include <cstdint>
#include <string>

namespace sagaflow::sagas {

struct Effect {
  std::string command_id;  // the command's idempotency key
  std::string kind;        // e.g. charge, refund, reserve, restore
  std::string subject;     // the user, order, coupon or product acted on
  std::int64_t amount = 0;
};

}  // namespace sagaflow::sagas
