#pragma once
// A flow's input contract as the admin API gives it (GET /api/flows, docs/admin-api.md), for a
// form that checks an input before it is sent.
#include "sagaflow/flow/flow.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::http {

// Null without `input:`, else {"fields": [...], "additional_fields": bool}, each field
// {"name", "type", "required"} with "fields" and "additional_fields" when it declares its
// fields and "items" (nameless, without "required") when it declares its items, in the
// declaration's order.
json::value input_contract_json(const flow::InputContract& contract);

}  // namespace sagaflow::http
