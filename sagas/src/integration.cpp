#include "sagaflow/sagas/integration.hpp"

#include <algorithm>

#include "sagaflow/json.hpp"

namespace sagaflow::sagas {

const std::vector<std::string>& IntegrationService::event_types() {
  static const std::vector<std::string> types{"booking.created", "booking.confirmed"};
  return types;
}

IntegrationService::Handled IntegrationService::handle(const Message& event) {
  const auto& types = event_types();
  std::lock_guard lock(mutex_);
  if (event.kind != MessageKind::event || event.id.empty() ||
      std::find(types.begin(), types.end(), event.type) == types.end()) {
    ++ignored_;
    return Handled::ignored;
  }
  if (seen_.contains(event.id)) {
    ++duplicates_;
    return Handled::duplicate;
  }
  boost::system::error_code ec;
  auto body = json::parse(event.body, ec);
  const json::object* o = !ec && body.is_object() ? &body.as_object() : nullptr;
  auto field = [o](std::string_view key) {
    const auto* v = o == nullptr ? nullptr : o->if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  Record r{event.id, event.type, field("booking_id"), field("slot_id"), event.correlation_id};
  if (r.booking_id.empty()) {
    ++ignored_;
    return Handled::ignored;
  }
  seen_.insert(event.id);
  records_.push_back(std::move(r));
  return Handled::recorded;
}

std::vector<IntegrationService::Record> IntegrationService::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::int64_t IntegrationService::count(const std::string& type,
                                       const std::string& booking_id) const {
  std::lock_guard lock(mutex_);
  return std::count_if(records_.begin(), records_.end(), [&](const Record& r) {
    return r.type == type && r.booking_id == booking_id;
  });
}

std::int64_t IntegrationService::duplicates() const {
  std::lock_guard lock(mutex_);
  return duplicates_;
}

std::int64_t IntegrationService::ignored() const {
  std::lock_guard lock(mutex_);
  return ignored_;
}

}  // namespace sagaflow::sagas
