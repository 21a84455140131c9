// The flow's input contract: `input:` and `additional_input_fields:`, nested fields and items.
#include <array>
#include <string_view>

#include "flow_reader.hpp"

namespace sagaflow::flow::detail {
namespace {

struct TypeName {
  std::string_view name;
  FieldType type;
};

constexpr std::array<TypeName, 7> kTypeNames{{{"string", FieldType::string},
                                              {"number", FieldType::number},
                                              {"integer", FieldType::integer},
                                              {"boolean", FieldType::boolean},
                                              {"object", FieldType::object},
                                              {"array", FieldType::array},
                                              {"any", FieldType::any}}};

}  // namespace

// `input:` maps field names to a type (`user_id: string`) or to a declaration map.
void FlowReader::read_input(const Field& field, Flow& flow) {
  if (!field.value->is_map()) {
    reporter_.error(field.value_pos(), "'input' must be a map of field names to types, found " +
                                           describe(*field.value));
    return;
  }
  flow.input.declared = true;
  flow.input.fields = read_input_fields(*field.value, "input", 1);
}

std::vector<InputField> FlowReader::read_input_fields(const YamlNode& map, const std::string& path,
                                                      int level) {
  std::vector<InputField> fields;
  for (const auto& [key, value] : map.entries()) {
    const Field entry{key, value};
    const auto& name = entry.name();
    if (!is_valid_name(name, false)) {
      reporter_.error(key->pos(),
                      "input field '" + name + "' must be named with letters, digits, '_' or '-'");
    }
    fields.push_back(read_input_declaration(entry, path + "." + name, level, false));
  }
  return fields;
}

// A field (or, when `item`, an array's items) at nesting `level`: a type name, or a map of
// `type` with `required` (fields only), `fields` and `additional_fields` (objects), `items`
// (arrays).
InputField FlowReader::read_input_declaration(const Field& field, const std::string& path,
                                              int level, bool item) {
  InputField result;
  result.name = item ? std::string() : field.name();
  if (level > kMaxInputDepth) {
    reporter_.error(field.value_pos(), "'" + path + "' is nested deeper than " +
                                           std::to_string(kMaxInputDepth) +
                                           " levels of input fields and items");
    return result;
  }
  if (!field.value->is_map()) {
    result.type = read_field_type(field).value_or(FieldType::any);
    return result;
  }
  const std::string what = item ? "'" + path + "'" : "input field '" + path + "'";
  MapReader spec =
      item ? MapReader(*field.value, what, {"type", "fields", "additional_fields", "items"},
                       reporter_)
           : MapReader(*field.value, what,
                       {"type", "required", "fields", "additional_fields", "items"}, reporter_);
  if (auto type = spec.require("type")) {
    result.type = read_field_type(*type).value_or(FieldType::any);
  }
  if (auto required = spec.get("required")) {
    result.required = read_bool(*required, reporter_).value_or(true);
  }
  const auto fields = spec.get("fields");
  if (fields) {
    if (result.type != FieldType::object) {
      reporter_.error(fields->key->pos(), "'fields' is for type object only (" + what + ")");
    } else if (!fields->value->is_map()) {
      reporter_.error(
          fields->value_pos(),
          "'fields' must be a map of field names to types, found " + describe(*fields->value));
    } else {
      result.fields_declared = true;
      result.fields = read_input_fields(*fields->value, path, level + 1);
    }
  }
  if (auto additional = spec.get("additional_fields")) {
    if (!fields) {
      reporter_.error(additional->key->pos(),
                      "'additional_fields' needs 'fields': an object without 'fields' already "
                      "takes any fields (" +
                          what + ")");
    }
    result.additional_fields = read_bool(*additional, reporter_).value_or(false);
  }
  if (auto items = spec.get("items")) {
    if (result.type != FieldType::array) {
      reporter_.error(items->key->pos(), "'items' is for type array only (" + what + ")");
    } else {
      result.items = std::make_shared<const InputField>(
          read_input_declaration(*items, path + "[]", level + 1, true));
    }
  }
  return result;
}

std::optional<FieldType> FlowReader::read_field_type(const Field& field) {
  auto name = read_string(field, reporter_);
  if (!name) return std::nullopt;
  for (const auto& entry : kTypeNames) {
    if (entry.name == *name) return entry.type;
  }
  reporter_.error(field.value_pos(),
                  "unknown type '" + *name +
                      "'; expected string, number, integer, boolean, object, array or any");
  return std::nullopt;
}

}  // namespace sagaflow::flow::detail
