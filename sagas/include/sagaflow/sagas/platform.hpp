#pragma once
// The external data platform of seed 004: it receives every paid order and every cancellation.
// It keeps one record per order and kind, so a record sent twice (by a redelivered command or by
// a second command) is stored once; while it is down it answers a technical error, which the
// saga retries with backoff.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "sagaflow/sagas/contracts/platform.hpp"
#include "sagaflow/sagas/effect.hpp"
#include "sagaflow/worker/typed.hpp"

namespace sagaflow::sagas {

class PlatformService {
 public:
  struct Record {
    std::string receipt_id;
    std::string command_id;  // the idempotency key of the command that stored it
    std::string kind;        // order, cancel
    std::string order_id;
    std::string user_id;
    std::string product_id;
    std::int64_t quantity = 0;
    std::int64_t amount = 0;
  };

  // Registers platform.send_order and platform.send_cancel.
  void register_handlers(worker::Dispatcher& dispatcher);

  // Unavailable until come_back(): every call answers the technical error PlatformUnavailable.
  void go_down();
  void come_back();
  // The next `calls` calls answer PlatformUnavailable (an outage that ends by itself).
  void fail_next_calls(int calls);

  std::vector<Record> records() const;  // in the order they were stored
  std::int64_t calls() const;           // every call that reached the platform, failed or not
  std::vector<Effect> ledger() const;
  // At most one record per order and kind, and a cancel only for an order it has.
  bool consistent() const;

 private:
  worker::Outcome<platform::Ack> send_order(const platform::SendOrder& s, const Message& m);
  worker::Outcome<platform::Ack> send_cancel(const platform::SendCancel& s, const Message& m);
  bool unavailable();                                                              // under mutex_
  const Record* find(const std::string& kind, const std::string& order_id) const;  // under mutex_
  platform::Ack store(Record record, const Message& m);                            // under mutex_

  mutable std::mutex mutex_;
  std::vector<Record> records_;
  std::vector<Effect> ledger_;
  bool down_ = false;
  int failing_calls_ = 0;
  std::int64_t calls_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace sagaflow::sagas
