#include "json_compare.hpp"

#include <cstdint>
#include <string_view>

namespace sagaflow::flow::detail {
namespace {

double as_double(const json::value& v) noexcept {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// Signed against unsigned without the usual conversion surprises (-1 < 2^64-1).
std::strong_ordering compare_signed_unsigned(std::int64_t a, std::uint64_t b) noexcept {
  if (a < 0) return std::strong_ordering::less;
  return static_cast<std::uint64_t>(a) <=> b;
}

// Precondition: both are numbers. Doubles take part through double conversion, which is
// exact for every integer a flow realistically compares (below 2^53).
std::partial_ordering compare_numbers(const json::value& a, const json::value& b) noexcept {
  if (a.is_double() || b.is_double()) return as_double(a) <=> as_double(b);
  if (a.is_int64() && b.is_int64()) return a.get_int64() <=> b.get_int64();
  if (a.is_uint64() && b.is_uint64()) return a.get_uint64() <=> b.get_uint64();
  if (a.is_int64()) return compare_signed_unsigned(a.get_int64(), b.get_uint64());
  return 0 <=> compare_signed_unsigned(b.get_int64(), a.get_uint64());
}

bool arrays_equal(const json::array& a, const json::array& b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!json_equal(a[i], b[i])) return false;
  }
  return true;
}

bool objects_equal(const json::object& a, const json::object& b) noexcept {
  if (a.size() != b.size()) return false;
  for (const auto& member : a) {
    const json::value* other = b.if_contains(member.key());
    if (other == nullptr || !json_equal(member.value(), *other)) return false;
  }
  return true;
}

}  // namespace

bool json_equal(const json::value& a, const json::value& b) noexcept {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b) == 0;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case json::kind::null:
      return true;
    case json::kind::bool_:
      return a.get_bool() == b.get_bool();
    case json::kind::string:
      return a.get_string() == b.get_string();
    case json::kind::array:
      return arrays_equal(a.get_array(), b.get_array());
    case json::kind::object:
      return objects_equal(a.get_object(), b.get_object());
    default:
      return false;  // numbers were handled above
  }
}

std::partial_ordering json_order(const json::value& a, const json::value& b) noexcept {
  if (a.is_number() && b.is_number()) return compare_numbers(a, b);
  if (a.is_string() && b.is_string()) {
    const json::string& left = a.get_string();
    const json::string& right = b.get_string();
    return std::string_view(left.data(), left.size()) <=>
           std::string_view(right.data(), right.size());
  }
  return std::partial_ordering::unordered;
}

bool json_truthy(const json::value& v) noexcept {
  switch (v.kind()) {
    case json::kind::null:
      return false;
    case json::kind::bool_:
      return v.get_bool();
    case json::kind::int64:
      return v.get_int64() != 0;
    case json::kind::uint64:
      return v.get_uint64() != 0;
    case json::kind::double_:
      return v.get_double() != 0.0;
    case json::kind::string:
      return !v.get_string().empty();
    default:
      return true;  // arrays and objects, even empty ones
  }
}

}  // namespace sagaflow::flow::detail
