#include "sagaflow/http/saga_json.hpp"

#include "sagaflow/engine/effects.hpp"
#include "sagaflow/engine/engine.hpp"
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

json::object saga_detail_json(const SagaRow& row, const std::vector<HistoryRow>& history,
                              const FlowRegistry& flows) {
  auto saga = saga_json(row);
  json::value data = nullptr;
  json::value steps = nullptr;
  json::value failure = nullptr;
  json::value effects = nullptr;
  try {
    auto state = from_row(row, flows);
    data = state->input;
    steps = state->steps;
    failure = nullable(state->failure);
    effects = effects_json(effects_left_standing(*state));
  } catch (const std::exception& e) {
    // Its flow version is not loaded here: the plain columns still tell a lot.
    log::warn("saga state not readable", {{"saga", row.id}, {"error", e.what()}});
  }
  saga["data"] = std::move(data);
  saga["steps"] = std::move(steps);
  saga["failure"] = std::move(failure);
  saga["effects_left_standing"] = std::move(effects);
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
