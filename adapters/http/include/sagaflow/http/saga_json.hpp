#pragma once
// A saga with its history as the admin API shows it (GET /api/sagas/{id}, docs/admin-api.md):
// the same object whether the endpoint answers it or retention archives it.
#include <vector>

#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::http {

// The plain columns: id, flow, flow_version, status, version, key, created_at, updated_at.
json::object saga_json(const SagaRow& row);

// The plain columns and "failure" (null unless the saga failed, compensates or ended
// compensated or cancelled, or when its flow version is not loaded): a row of GET /api/sagas.
json::object saga_list_json(const SagaRow& row, const FlowRegistry& flows);

// {"saga": {the plain columns, data, steps, failure, effects_left_standing, in_flight}, "history":
// [...]}. The state is read with the flow version it ran (data, steps and failure are null when it
// is not loaded).
json::object saga_detail_json(const SagaRow& row, const std::vector<HistoryRow>& history,
                              const FlowRegistry& flows);

}  // namespace sagaflow::http
