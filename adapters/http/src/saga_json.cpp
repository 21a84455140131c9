#include "sagaflow/http/saga_json.hpp"

#include "sagaflow/engine/effects.hpp"
#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/in_flight.hpp"
#include "sagaflow/engine/saga.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/wire.hpp"

namespace sagaflow::http {

namespace {

json::value nullable(const std::string& s) {
  return s.empty() ? json::value(nullptr) : json::value(s);
}

json::value parsed_or_text(const std::string& text) {
  if (text.empty()) return json::object{};
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  return ec ? json::value(text) : value;
}

json::value time_or_null(const std::optional<Timestamp>& t) {
  return t ? json::value(format_time(*t)) : json::value(nullptr);
}

json::array strings_json(const std::vector<std::string>& list) {
  json::array out;
  for (const auto& s : list) out.push_back(json::value(s));
  return out;
}

json::array in_flight_json(const std::vector<StepInFlight>& steps) {
  json::array out;
  for (const auto& s : steps) {
    const bool wait = s.phase == "waiting_event";
    json::object step{{"step", s.step}, {"phase", s.phase}};
    if (wait) {
      step["events"] = strings_json(s.events);
      step["failure_events"] = strings_json(s.failure_events);
      step["key"] = s.key;
      step["key_path"] = s.key_path;
      step["timeout_at"] = time_or_null(s.timeout_at);
    } else {
      step["command"] = nullable(s.command);
      step["attempt"] = s.attempt;
      step["next_attempt_at"] = time_or_null(s.next_attempt_at);
    }
    out.push_back(std::move(step));
  }
  return out;
}

// Only these statuses carry a failure: the others need not decode their state for it.
bool may_have_failure(const std::string& status) {
  return status == "failed" || status == "compensating" || status == "compensated" ||
         status == "cancelled";
}

}  // namespace

json::object saga_json(const SagaRow& row) {
  return json::object{{"id", row.id},
                      {"flow", row.flow},
                      {"flow_version", row.flow_version},
                      {"status", row.status},
                      {"version", row.version},
                      {"key", nullable(row.idempotency_key)},
                      {"created_at", format_time(row.created_at)},
                      {"updated_at", format_time(row.updated_at)}};
}

json::object saga_list_json(const SagaRow& row, const FlowRegistry& flows) {
  auto saga = saga_json(row);
  json::value failure = nullptr;
  if (may_have_failure(row.status)) {
    try {
      failure = nullable(from_row(row, flows)->failure);
    } catch (const std::exception&) {
      // Its flow version is not loaded here: the list shows no reason rather than no saga.
    }
  }
  saga["failure"] = std::move(failure);
  return saga;
}

json::object saga_detail_json(const SagaRow& row, const std::vector<HistoryRow>& history,
                              const FlowRegistry& flows) {
  auto saga = saga_json(row);
  json::value data = nullptr;
  json::value steps = nullptr;
  json::value failure = nullptr;
  json::value effects = nullptr;
  json::value in_flight = nullptr;
  json::value start_at = nullptr;
  json::value actions = json::object{{"retry", false}, {"cancel", false}};
  json::value parent = nullptr;
  json::array children;
  try {
    auto state = from_row(row, flows);
    // Sub-flows: the saga that started this one, and those this one started, by step.
    if (!state->parent_id.empty()) {
      parent = json::object{{"id", state->parent_id}, {"step", state->parent_step}};
    }
    for (const auto& [step, id] : state->children) {
      children.push_back(json::object{{"step", step}, {"id", id}});
    }
    data = state->input;
    steps = state->steps;
    failure = nullable(state->failure);
    effects = effects_json(effects_left_standing(*state));
    in_flight = in_flight_json(steps_in_flight(*state, history));
    if (state->start_at) start_at = format_time(*state->start_at);
    actions = json::object{{"retry", can_retry(*state)}, {"cancel", can_cancel(*state)}};
  } catch (const std::exception& e) {
    // Its flow version is not loaded here: the plain columns still tell a lot.
    log::warn("saga state not readable", {{"saga", row.id}, {"error", e.what()}});
  }
  saga["data"] = std::move(data);
  saga["steps"] = std::move(steps);
  saga["failure"] = std::move(failure);
  saga["effects_left_standing"] = std::move(effects);
  saga["in_flight"] = std::move(in_flight);
  saga["start_at"] = std::move(start_at);
  saga["actions"] = std::move(actions);
  saga["parent"] = std::move(parent);
  saga["children"] = std::move(children);
  json::array records;
  for (const auto& h : history) {
    records.push_back(json::object{{"at", format_time(h.at)},
                                   {"version", h.saga_version},
                                   {"kind", h.kind},
                                   {"step", nullable(h.step)},
                                   {"detail", parsed_or_text(h.detail)}});
  }
  return json::object{{"saga", std::move(saga)}, {"history", std::move(records)}};
}

}  // namespace sagaflow::http
