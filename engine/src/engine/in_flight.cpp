#include "sagaflow/engine/in_flight.hpp"

#include "sagaflow/json.hpp"

namespace sagaflow {
namespace {

// The newest history record of `step` whose kind is one of `kinds`.
const HistoryRow* last_record(const std::vector<HistoryRow>& history, const std::string& step,
                              std::initializer_list<std::string_view> kinds) {
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->step != step) continue;
    for (auto kind : kinds) {
      if (it->kind == kind) return &*it;
    }
  }
  return nullptr;
}

json::value detail_of(const HistoryRow& row) {
  boost::system::error_code ec;
  auto value = json::parse(row.detail, ec);
  return ec ? json::value(nullptr) : value;
}

std::string string_field(const json::value& detail, std::string_view name) {
  const auto* object = detail.if_object();
  const auto* field = object ? object->if_contains(name) : nullptr;
  return field && field->is_string() ? std::string(field->get_string()) : std::string();
}

std::optional<std::int64_t> int_field(const json::value& detail, std::string_view name) {
  const auto* object = detail.if_object();
  const auto* field = object ? object->if_contains(name) : nullptr;
  if (field == nullptr) return std::nullopt;
  if (field->is_int64()) return field->get_int64();
  if (field->is_uint64()) return static_cast<std::int64_t>(field->get_uint64());
  return std::nullopt;
}

// A backoff's due time: the scheduling record's time plus the delay it wrote.
std::optional<Timestamp> due_after(const HistoryRow* scheduled) {
  if (scheduled == nullptr) return std::nullopt;
  auto delay = int_field(detail_of(*scheduled), "delay_ms");
  if (!delay) return std::nullopt;
  return scheduled->at + Duration(*delay);
}

}  // namespace

std::vector<StepInFlight> steps_in_flight(const SagaState& saga,
                                          const std::vector<HistoryRow>& history) {
  std::vector<StepInFlight> out;
  if (is_final(saga.status) || saga.status == Status::failed) return out;
  for (const auto& a : saga.activities) {
    StepInFlight s{.step = activity_key(saga, a)};
    const bool undo =
        a.phase == ActivityPhase::compensating || a.phase == ActivityPhase::compensation_backoff;
    switch (a.phase) {
      case ActivityPhase::awaiting_reply:
        // A subflow step awaits its child saga's end (`children` names it), not a reply.
        s.phase = saga.plan->node(a.node).step->kind == flow::StepKind::subflow ? "awaiting_child"
                                                                                : "awaiting_reply";
        break;
      case ActivityPhase::backoff:
        s.phase = "retry_backoff";
        break;
      case ActivityPhase::compensating:
        s.phase = "compensating";
        break;
      case ActivityPhase::compensation_backoff:
        s.phase = "compensation_backoff";
        break;
      default:
        continue;  // done, failed, compensated: nothing is out
    }
    s.attempt = undo ? a.undo_attempt : a.attempt;
    if (const auto* sent =
            last_record(history, s.step, {undo ? "compensation_sent" : "command_sent"})) {
      s.command = string_field(detail_of(*sent), "type");
    }
    if (a.phase == ActivityPhase::backoff) {
      s.next_attempt_at = due_after(last_record(history, s.step, {"retry_scheduled"}));
    } else if (a.phase == ActivityPhase::compensation_backoff) {
      s.next_attempt_at = due_after(last_record(history, s.step, {"compensation_retry_scheduled"}));
    }
    out.push_back(std::move(s));
  }
  for (const auto& w : saga.waits) {
    const auto& step = *saga.plan->node(w.node).step;
    StepInFlight s{.step = step.name, .phase = "waiting_event"};
    s.events = step.wait.events;
    s.failure_events = step.wait.failure_events;
    s.key = w.key;
    s.key_path = step.wait.key.text;
    if (const auto* started = last_record(history, step.name, {"wait_started"})) {
      s.timeout_at = started->at + step.wait.timeout;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace sagaflow
