#pragma once
// Comparison of JSON values as the flow language defines it: numbers compare by value across
// int64/uint64/double, strings lexicographically, and == is deep equality.
#include <compare>

#include "sagaflow/json.hpp"

namespace sagaflow::flow::detail {

// Deep equality; 1 == 1.0, object member order does not matter.
bool json_equal(const json::value& a, const json::value& b) noexcept;

// Ordering of two numbers or two strings; `unordered` for any other pair.
std::partial_ordering json_order(const json::value& a, const json::value& b) noexcept;

// null, false, 0 and "" are false; everything else is true.
bool json_truthy(const json::value& v) noexcept;

}  // namespace sagaflow::flow::detail
