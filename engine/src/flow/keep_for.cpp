#include "duration.hpp"
#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow {

namespace {
constexpr std::string_view kNever = "never";
}  // namespace

std::optional<KeepFor> parse_keep_for(std::string_view text, std::string& error) {
  if (text == kNever) return KeepFor{.forever = true};
  detail::DurationError problem;
  auto age = detail::parse_duration(text, problem);
  if (!age) {
    error = problem.message + " (or write 'never')";
    return std::nullopt;
  }
  return KeepFor{.forever = false, .age = *age};
}

std::string format_keep_for(const KeepFor& keep) {
  return keep.forever ? std::string(kNever) : detail::format_duration(keep.age);
}

}  // namespace sagaflow::flow
