#include "sagaflow/sagas/platform.hpp"

#include <set>

namespace sagaflow::sagas {

void PlatformService::register_handlers(worker::Dispatcher& dispatcher) {
  using namespace platform;
  worker::on<SendOrder, Ack>(
      dispatcher, "platform.send_order",
      [this](const SendOrder& s, const Message& m) { return send_order(s, m); });
  worker::on<SendCancel, Ack>(
      dispatcher, "platform.send_cancel",
      [this](const SendCancel& s, const Message& m) { return send_cancel(s, m); });
}

void PlatformService::go_down() {
  std::lock_guard lock(mutex_);
  down_ = true;
}

void PlatformService::come_back() {
  std::lock_guard lock(mutex_);
  down_ = false;
}

void PlatformService::fail_next_calls(int calls) {
  std::lock_guard lock(mutex_);
  failing_calls_ += calls;
}

bool PlatformService::unavailable() {
  ++calls_;
  if (down_) return true;
  if (failing_calls_ > 0) {
    --failing_calls_;
    return true;
  }
  return false;
}

const PlatformService::Record* PlatformService::find(const std::string& kind,
                                                     const std::string& order_id) const {
  for (const auto& r : records_) {
    if (r.kind == kind && r.order_id == order_id) return &r;
  }
  return nullptr;
}

platform::Ack PlatformService::store(Record record, const Message& m) {
  if (const auto* known = find(record.kind, record.order_id)) {
    return platform::Ack{known->receipt_id, true};
  }
  record.receipt_id = "rcpt-" + std::to_string(next_id_++);
  record.command_id = m.idempotency_key;
  ledger_.push_back(Effect{m.idempotency_key, record.kind, record.order_id, record.amount});
  records_.push_back(std::move(record));
  return platform::Ack{records_.back().receipt_id, false};
}

worker::Outcome<platform::Ack> PlatformService::send_order(const platform::SendOrder& s,
                                                           const Message& m) {
  using Outcome = worker::Outcome<platform::Ack>;
  std::lock_guard lock(mutex_);
  if (unavailable()) return Outcome::technical_error("PlatformUnavailable");
  if (s.order_id.empty()) return Outcome::business_failure("InvalidOrder");
  return store(Record{.kind = "order",
                      .order_id = s.order_id,
                      .user_id = s.user_id,
                      .product_id = s.product_id,
                      .quantity = s.quantity,
                      .amount = s.amount},
               m);
}

// A cancellation of an order the platform never received is refused: the order's data must
// arrive first.
worker::Outcome<platform::Ack> PlatformService::send_cancel(const platform::SendCancel& s,
                                                            const Message& m) {
  using Outcome = worker::Outcome<platform::Ack>;
  std::lock_guard lock(mutex_);
  if (unavailable()) return Outcome::technical_error("PlatformUnavailable");
  const auto* order = find("order", s.order_id);
  if (order == nullptr) return Outcome::business_failure("UnknownOrder");
  auto record = *order;
  record.kind = "cancel";
  return store(std::move(record), m);
}

std::vector<PlatformService::Record> PlatformService::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::int64_t PlatformService::calls() const {
  std::lock_guard lock(mutex_);
  return calls_;
}

std::vector<Effect> PlatformService::ledger() const {
  std::lock_guard lock(mutex_);
  return ledger_;
}

bool PlatformService::consistent() const {
  std::lock_guard lock(mutex_);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& r : records_) {
    if (!seen.insert({r.kind, r.order_id}).second) return false;
    if (r.kind == "cancel" && !seen.contains({"order", r.order_id})) return false;
  }
  return true;
}

}  // namespace sagaflow::sagas
