#include "yaml_fields.hpp"

#include <charconv>
#include <cmath>
#include <span>

#include "duration.hpp"
#include "sagaflow/flow/suggest.hpp"

namespace sagaflow::flow::detail {
namespace {

std::optional<bool> bool_word(std::string_view text) {
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

template <typename T>
std::optional<T> parse_exact(std::string_view text) {
  T value{};
  const char* end = text.data() + text.size();
  auto [stop, status] = std::from_chars(text.data(), end, value);
  if (status != std::errc{} || stop != end) return std::nullopt;
  return value;
}

bool looks_numeric(std::string_view text) {
  if (text.empty()) return false;
  const char first =
      text.front() == '-' || text.front() == '+' ? (text.size() > 1 ? text[1] : 'x') : text.front();
  return (first >= '0' && first <= '9') || first == '.';
}

std::optional<json::value> number_from(std::string_view text) {
  if (!looks_numeric(text)) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  if (auto integer = parse_exact<std::int64_t>(text)) return json::value(*integer);
  if (auto unsigned_integer = parse_exact<std::uint64_t>(text)) {
    return json::value(*unsigned_integer);
  }
  if (auto real = parse_exact<double>(text); real && std::isfinite(*real)) {
    return json::value(*real);
  }
  return std::nullopt;
}

// A value of a scalar type: reports non-scalars (and empty values) and returns nullptr.
const YamlNode* scalar_or_report(const Field& field, std::string_view expected,
                                 Reporter& reporter) {
  if (field.value->is_scalar()) return field.value;
  reporter.error(field.value_pos(), "'" + field.name() + "' must be " + std::string(expected) +
                                        ", found " + describe(*field.value));
  return nullptr;
}

}  // namespace

std::string describe(const YamlNode& node) {
  if (node.is_map()) return node.size() == 0 ? "an empty map" : "a map";
  if (node.is_sequence()) return node.size() == 0 ? "an empty list" : "a list";
  if (node.is_scalar()) return (node.quoted() ? "the quoted string '" : "'") + node.scalar() + "'";
  return "nothing";
}

MapReader::MapReader(const YamlNode& node, std::string what,
                     std::initializer_list<std::string_view> allowed, Reporter& reporter)
    : node_(node), what_(std::move(what)), reporter_(reporter), is_map_(node.is_map()) {
  if (!is_map_) {
    reporter_.error(node.pos(), what_ + " must be a map, found " + describe(node));
    return;
  }
  std::string expected;
  for (std::string_view key : allowed)
    expected += (expected.empty() ? "" : ", ") + std::string(key);
  for (const auto& [key, value] : node_.entries()) {
    const std::string& name = key->scalar();
    bool known = false;
    for (std::string_view candidate : allowed) known = known || candidate == name;
    if (known) continue;
    // A near miss names the one key meant; anything else lists them all.
    const std::string meant = did_you_mean(name, std::span(allowed.begin(), allowed.size()));
    reporter_.error(key->pos(), "unknown key '" + name + "' in " + what_ +
                                    (meant.empty() ? "; expected one of: " + expected : meant));
  }
}

std::optional<Field> MapReader::get(std::string_view key) const {
  if (!is_map_) return std::nullopt;
  for (const auto& entry : node_.entries()) {
    if (entry.key->is_scalar() && entry.key->scalar() == key) return Field{entry.key, entry.value};
  }
  return std::nullopt;
}

std::optional<Field> MapReader::require(std::string_view key) const {
  auto field = get(key);
  if (!field && is_map_) {
    reporter_.error(pos(), "missing required key '" + std::string(key) + "' in " + what_);
  }
  return field;
}

std::optional<std::string> read_string(const Field& field, Reporter& reporter) {
  const YamlNode* scalar = scalar_or_report(field, "a string", reporter);
  if (scalar == nullptr) return std::nullopt;
  return scalar->scalar();
}

bool is_valid_name(std::string_view name, bool dots) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || (dots && c == '.');
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> read_name(const Field& field, bool dots, Reporter& reporter) {
  auto name = read_string(field, reporter);
  if (!name) return std::nullopt;
  if (!is_valid_name(*name, dots)) {
    reporter.error(field.value_pos(), "'" + field.name() +
                                          "' must be a name of letters, digits, '_', '-'" +
                                          (dots ? ", '.'" : "") + "; found '" + *name + "'");
    return std::nullopt;
  }
  return name;
}

std::optional<bool> read_bool(const Field& field, Reporter& reporter) {
  const YamlNode* scalar = scalar_or_report(field, "true or false", reporter);
  if (scalar == nullptr) return std::nullopt;
  if (auto value = bool_word(scalar->scalar()); value && !scalar->quoted()) return value;
  reporter.error(field.value_pos(),
                 "'" + field.name() + "' must be true or false, found " + describe(*scalar));
  return std::nullopt;
}

std::optional<std::int64_t> read_integer(const Field& field, Reporter& reporter) {
  const YamlNode* scalar = scalar_or_report(field, "an integer", reporter);
  if (scalar == nullptr) return std::nullopt;
  auto text = std::string_view(scalar->scalar());
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (auto value = parse_exact<std::int64_t>(text); value && !scalar->quoted()) return value;
  reporter.error(field.value_pos(),
                 "'" + field.name() + "' must be an integer, found " + describe(*scalar));
  return std::nullopt;
}

std::optional<double> read_number(const Field& field, Reporter& reporter) {
  const YamlNode* scalar = scalar_or_report(field, "a number", reporter);
  if (scalar == nullptr) return std::nullopt;
  if (auto value = number_from(scalar->scalar()); value && !scalar->quoted()) {
    return value->to_number<double>();
  }
  reporter.error(field.value_pos(),
                 "'" + field.name() + "' must be a number, found " + describe(*scalar));
  return std::nullopt;
}

std::optional<Duration> read_duration(const Field& field, bool positive, Reporter& reporter) {
  const YamlNode* scalar = scalar_or_report(field, "a duration", reporter);
  if (scalar == nullptr) return std::nullopt;
  DurationError error;
  auto duration = parse_duration(scalar->scalar(), error);
  if (!duration) {
    reporter.error(reporter.position_in_scalar(*scalar, error.offset),
                   "'" + field.name() + "': " + error.message);
    return std::nullopt;
  }
  if (positive && duration->count() == 0) {
    reporter.error(field.value_pos(), "'" + field.name() + "' must be longer than 0");
    return std::nullopt;
  }
  return duration;
}

std::optional<std::vector<std::string>> read_name_list(const Field& field, bool dots,
                                                       Reporter& reporter) {
  if (!field.value->is_sequence()) {
    reporter.error(field.value_pos(),
                   "'" + field.name() + "' must be a list, found " + describe(*field.value));
    return std::nullopt;
  }
  std::vector<std::string> names;
  bool ok = true;
  for (const YamlNode* element : field.value->elements()) {
    auto name = read_name(Field{field.key, element}, dots, reporter);
    ok = ok && name.has_value();
    if (name) names.push_back(std::move(*name));
  }
  if (!ok) return std::nullopt;
  return names;
}

json::value scalar_to_json(const YamlNode& scalar) {
  const std::string& text = scalar.scalar();
  if (scalar.is_null()) return nullptr;
  if (scalar.quoted()) return json::string(text);
  if (auto boolean = bool_word(text)) return *boolean;
  if (auto number = number_from(text)) return *number;
  return json::string(text);
}

}  // namespace sagaflow::flow::detail
