#include "sagaflow/engine/service_health.hpp"

namespace sagaflow {

bool service_lacks_consumer(const ServiceHealth& service) {
  if (!service.consumers || *service.consumers > 0) return false;
  return service.in_flight > 0 || service.waiting > 0 || service.queued.value_or(0) > 0;
}

std::vector<ServiceHealth> service_health(const std::vector<std::string>& services,
                                          const std::vector<ServiceLoad>& loads,
                                          const std::map<std::string, ServiceQueue>& queues,
                                          const std::map<std::string, Timestamp>& last_replies) {
  std::map<std::string, ServiceHealth> by_name;
  auto entry = [&](const std::string& name) -> ServiceHealth& {
    auto& h = by_name[name];
    h.service = name;
    return h;
  };
  for (const auto& name : services) entry(name);
  for (const auto& load : loads) {
    auto& h = entry(load.service);
    h.in_flight = load.in_flight;
    h.waiting = load.waiting;
    h.oldest_waiting_age = load.oldest_waiting_age;
  }
  for (const auto& [name, queue] : queues) {
    auto& h = entry(name);
    h.consumers = queue.consumers;
    h.queued = queue.messages;
  }
  for (const auto& [name, at] : last_replies) entry(name).last_reply = at;
  std::vector<ServiceHealth> out;
  out.reserve(by_name.size());
  for (auto& [name, h] : by_name) {
    h.without_consumer = service_lacks_consumer(h);
    out.push_back(std::move(h));
  }
  return out;
}

std::vector<std::string> services_without_consumer(const std::vector<ServiceHealth>& health) {
  std::vector<std::string> names;
  for (const auto& h : health) {
    if (h.without_consumer) names.push_back(h.service);
  }
  return names;
}

}  // namespace sagaflow
