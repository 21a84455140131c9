#include "service_slots.hpp"

#include <algorithm>
#include <utility>

namespace sagaflow {

std::vector<OutboxRow> ServiceSlots::admit(std::vector<OutboxRow> rows, const Awaited& awaited) {
  if (!limited()) return rows;
  std::vector<OutboxRow> now;
  now.reserve(rows.size());
  for (auto& row : rows) {
    const auto& m = row.message;
    if (m.kind != MessageKind::command || held_.contains(row.seq)) {
      if (m.kind != MessageKind::command) now.push_back(std::move(row));
      continue;
    }
    if (auto it = by_saga_.find(m.correlation_id);
        it != by_saga_.end() && it->second.contains(m.id)) {
      now.push_back(std::move(row));  // sent again (its sending failed): it holds its slot
      continue;
    }
    auto& service = services_[m.destination];
    if (service.waiting.empty() && service.in_flight < limit_) {
      if (awaited(m.correlation_id, m.id)) take_slot(m.correlation_id, m.id, m.destination);
      now.push_back(std::move(row));
      continue;
    }
    held_.insert(row.seq);
    service.waiting.push_back(Waiting{std::move(row), clock_.now()});
  }
  return now;
}

void ServiceSlots::in_flight(const std::string& saga_id, const std::string& command_id,
                             const std::string& service) {
  auto& commands = by_saga_[saga_id];
  if (!commands.contains(command_id)) take_slot(saga_id, command_id, service);
}

void ServiceSlots::take_slot(const std::string& saga_id, const std::string& command_id,
                             const std::string& service) {
  by_saga_[saga_id].emplace(command_id, service);
  ++services_[service].in_flight;
}

void ServiceSlots::settle(const std::string& saga_id, const std::vector<std::string>& pending) {
  auto it = by_saga_.find(saga_id);
  if (it == by_saga_.end()) return;
  auto& commands = it->second;
  for (auto c = commands.begin(); c != commands.end();) {
    if (std::find(pending.begin(), pending.end(), c->first) != pending.end()) {
      ++c;
      continue;
    }
    --services_[c->second].in_flight;
    c = commands.erase(c);
  }
  if (commands.empty()) by_saga_.erase(it);
}

void ServiceSlots::forget(const std::function<bool(const std::string& saga_id)>& lost) {
  for (auto it = by_saga_.begin(); it != by_saga_.end();) {
    if (!lost(it->first)) {
      ++it;
      continue;
    }
    for (const auto& c : it->second) --services_[c.second].in_flight;
    it = by_saga_.erase(it);
  }
  for (auto& entry : services_) {
    std::erase_if(entry.second.waiting, [&](const Waiting& w) {
      if (!lost(w.row.message.correlation_id)) return false;
      held_.erase(w.row.seq);
      return true;
    });
  }
}

std::vector<OutboxRow> ServiceSlots::take_ready(const Awaited& awaited) {
  std::vector<OutboxRow> ready;
  if (held_.empty()) return ready;
  for (auto& [name, service] : services_) {
    while (!service.waiting.empty()) {
      auto& front = service.waiting.front().row;
      const auto& m = front.message;
      // One its saga no longer awaits goes at its turn without a slot: nothing would free it.
      const bool takes_slot = awaited(m.correlation_id, m.id);
      if (takes_slot && service.in_flight >= limit_) break;
      if (takes_slot) take_slot(m.correlation_id, m.id, name);
      held_.erase(front.seq);
      ready.push_back(std::move(front));
      service.waiting.pop_front();
    }
  }
  // In commit order across services, as the outbox would have sent them.
  std::sort(ready.begin(), ready.end(),
            [](const OutboxRow& a, const OutboxRow& b) { return a.seq < b.seq; });
  return ready;
}

void ServiceSlots::publish_loads() {
  if (!limited()) return;
  std::vector<ServiceLoad> loads;
  loads.reserve(services_.size());
  const auto now = clock_.now();
  for (const auto& [name, service] : services_) {
    ServiceLoad load{
        .service = name, .in_flight = service.in_flight, .waiting = service.waiting.size()};
    if (!service.waiting.empty()) {
      load.oldest_waiting_age = std::max(Duration{0}, now - service.waiting.front().since);
    }
    loads.push_back(std::move(load));
  }
  std::lock_guard lock(loads_mutex_);
  loads_ = std::move(loads);
}

std::vector<ServiceLoad> ServiceSlots::loads() const {
  std::lock_guard lock(loads_mutex_);
  return loads_;
}

}  // namespace sagaflow
