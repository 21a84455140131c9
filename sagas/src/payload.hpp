#pragma once
// Reading command payloads: a missing or mistyped field reads as empty, and the business rules
// then refuse it with their own error code.
#include <cstdint>
#include <string>

#include "sagaflow/json.hpp"

namespace sagaflow::sagas {

inline std::string text_field(const json::value& payload, const char* field) {
  const auto* v = payload.is_object() ? payload.get_object().if_contains(field) : nullptr;
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

inline std::int64_t number_field(const json::value& payload, const char* field) {
  const auto* v = payload.is_object() ? payload.get_object().if_contains(field) : nullptr;
  return v && v->is_number() ? v->to_number<std::int64_t>() : 0;
}

}  // namespace sagaflow::sagas
