#include "sagaflow/http/contract_json.hpp"

namespace sagaflow::http {

namespace {

std::string_view type_name(flow::FieldType type) {
  switch (type) {
    case flow::FieldType::string:
      return "string";
    case flow::FieldType::number:
      return "number";
    case flow::FieldType::integer:
      return "integer";
    case flow::FieldType::boolean:
      return "boolean";
    case flow::FieldType::object:
      return "object";
    case flow::FieldType::array:
      return "array";
    case flow::FieldType::any:
      break;
  }
  return "any";
}

json::array fields_json(const std::vector<flow::InputField>& fields);

json::object field_json(const flow::InputField& field, bool named) {
  json::object out;
  if (named) out["name"] = field.name;
  out["type"] = type_name(field.type);
  if (named) out["required"] = field.required;
  if (field.fields_declared) {
    out["fields"] = fields_json(field.fields);
    out["additional_fields"] = field.additional_fields;
  }
  if (field.items) out["items"] = field_json(*field.items, false);
  return out;
}

json::array fields_json(const std::vector<flow::InputField>& fields) {
  json::array out;
  for (const auto& f : fields) out.push_back(field_json(f, true));
  return out;
}

}  // namespace

json::value input_contract_json(const flow::InputContract& contract) {
  if (!contract.declared) return nullptr;
  return json::object{{"fields", fields_json(contract.fields)},
                      {"additional_fields", contract.additional_fields}};
}

}  // namespace sagaflow::http
