#pragma once
// Typed reading of YAML nodes with a precise diagnostic for every mismatch. Generic: knows
// nothing about flows beyond how their scalars are spelled.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reporter.hpp"
#include "sagaflow/flow/flow.hpp"
#include "yaml_tree.hpp"

namespace sagaflow::flow::detail {

// A key and its value inside a map.
struct Field {
  const YamlNode* key;
  const YamlNode* value;

  const std::string& name() const { return key->scalar(); }
  // Where to report a problem with the value: an empty value (`key:`) has no position of its
  // own (the parser gives the next token's), so its key stands for a null value.
  SourcePos value_pos() const { return value->is_null() ? key->pos() : value->pos(); }
};

// "a map", "a list", "nothing", "the string 'abc'": what was found, for messages.
std::string describe(const YamlNode& node);

// The keys of a map node. Reports a node that is not a map, and every key not in `allowed`.
// `what` names the map in messages ("step 'reserve'", "retry").
class MapReader {
 public:
  MapReader(const YamlNode& node, std::string what, std::initializer_list<std::string_view> allowed,
            Reporter& reporter);

  bool is_map() const { return is_map_; }
  SourcePos pos() const { return node_.pos(); }
  std::optional<Field> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  // Reports "missing required key" at the map's position when absent.
  std::optional<Field> require(std::string_view key) const;
  const std::string& what() const { return what_; }

 private:
  const YamlNode& node_;
  std::string what_;
  Reporter& reporter_;
  bool is_map_ = false;
};

// Each reader reports a mismatch at the value and returns nullopt.
std::optional<std::string> read_string(const Field& field, Reporter& reporter);
// A name used in paths or message types: letters, digits, '_', '-', and '.' when `dots`.
std::optional<std::string> read_name(const Field& field, bool dots, Reporter& reporter);
std::optional<bool> read_bool(const Field& field, Reporter& reporter);
std::optional<std::int64_t> read_integer(const Field& field, Reporter& reporter);
std::optional<double> read_number(const Field& field, Reporter& reporter);
// `positive`: zero is refused too (timeouts).
std::optional<Duration> read_duration(const Field& field, bool positive, Reporter& reporter);
// A list of names (event names, error codes); reports each bad element at its position.
std::optional<std::vector<std::string>> read_name_list(const Field& field, bool dots,
                                                       Reporter& reporter);

// A scalar as JSON, with YAML 1.2 core rules for plain (unquoted) ones: true/false, integers
// and floats; anything else is a string. Quoted scalars are always strings; a null node is null.
json::value scalar_to_json(const YamlNode& scalar);

bool is_valid_name(std::string_view name, bool dots);

}  // namespace sagaflow::flow::detail
