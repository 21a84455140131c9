#include "sagaflow/flow/input_contract.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

#include "sagaflow/text/printable.hpp"

namespace sagaflow::flow {
namespace {

// Declared field names listed in an unknown field's message, at most.
constexpr std::size_t kListedFieldNames = 10;

std::string_view expected_text(FieldType type) {
  switch (type) {
    case FieldType::string:
      return "a string";
    case FieldType::number:
      return "a number";
    case FieldType::integer:
      return "an integer";
    case FieldType::boolean:
      return "a boolean";
    case FieldType::object:
      return "an object";
    case FieldType::array:
      return "an array";
    case FieldType::any:
      break;
  }
  return "any value";
}

bool has_type(const json::value& value, FieldType type) {
  switch (type) {
    case FieldType::string:
      return value.is_string();
    case FieldType::number:
      return value.is_number();
    case FieldType::integer:
      return value.is_int64() || value.is_uint64();
    case FieldType::boolean:
      return value.is_bool();
    case FieldType::object:
      return value.is_object();
    case FieldType::array:
      return value.is_array();
    case FieldType::any:
      break;
  }
  return true;
}

// At most `max` bytes of `text`, cut before a UTF-8 sequence rather than inside one.
std::string cut(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  std::size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return std::string(text.substr(0, end)) + "...";
}

// `2.5`, not Boost.JSON's `2.5E0`.
std::string shortest(double number) {
  std::array<char, 32> text{};
  const auto end = std::to_chars(text.data(), text.data() + text.size(), number).ptr;
  return std::string(text.data(), end);
}

// What came, for messages: `null`, `true`, `the integer 3`, `the number 2.5`,
// `the string "3"`, `an object`, `an array`.
std::string describe(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return value.get_bool() ? "true" : "false";
    case json::kind::int64:
    case json::kind::uint64:
      return "the integer " + json::serialize(value);
    case json::kind::double_:
      return "the number " + shortest(value.get_double());
    case json::kind::string:
      return "the string " + json::serialize(json::value(cut(value.get_string(), kMaxQuotedInput)));
    case json::kind::object:
      return "an object";
    case json::kind::array:
      break;
  }
  return "an array";
}

bool is_plain_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
  });
}

// `parent.name`, or `parent["a b"]` for a key that is not a plain name.
std::string member_path(const std::string& parent, std::string_view key) {
  if (is_plain_name(key)) return parent + "." + std::string(key);
  return parent + "[" + json::serialize(json::value(cut(key, kMaxQuotedInput))) + "]";
}

std::string field_list(const std::vector<InputField>& fields) {
  if (fields.empty()) return "it declares no fields";
  std::string list = "expected fields: ";
  for (std::size_t i = 0; i < fields.size() && i < kListedFieldNames; ++i) {
    list += (i == 0 ? "" : ", ") + fields[i].name;
  }
  if (fields.size() > kListedFieldNames) list += ", ...";
  return list;
}

class Checker {
 public:
  InputCheck result;

  void value(const InputField& declared, const json::value& value, const std::string& path) {
    if (!has_type(value, declared.type)) {
      problem(path, std::string("expected ") + std::string(expected_text(declared.type)) +
                        ", got " + describe(value));
      return;
    }
    if (declared.type == FieldType::object && declared.fields_declared) {
      object(declared.fields, declared.additional_fields, value.get_object(), path);
    } else if (declared.type == FieldType::array && declared.items) {
      const auto& items = value.get_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        this->value(*declared.items, items[i], path + "[" + std::to_string(i) + "]");
      }
    }
  }

  void object(const std::vector<InputField>& fields, bool additional, const json::object& object,
              const std::string& path) {
    for (const auto& field : fields) {
      const auto* member = object.if_contains(field.name);
      const auto member_at = path + "." + field.name;
      if (member == nullptr || member->is_null()) {
        if (field.required) {
          problem(member_at, std::string("required field is ") +
                                 (member == nullptr ? "missing" : "null") + " (expected " +
                                 std::string(expected_text(field.type)) + ")");
        }
        continue;
      }
      value(field, *member, member_at);
    }
    if (additional) return;
    std::vector<std::string_view> unknown;
    for (const auto& member : object) {
      const auto declared = std::any_of(fields.begin(), fields.end(), [&](const InputField& f) {
        return f.name == member.key();
      });
      if (!declared) unknown.push_back(member.key());
    }
    std::sort(unknown.begin(), unknown.end());
    for (auto key : unknown) {
      problem(member_path(path, key), "unknown field (" + field_list(fields) + ")");
    }
  }

 private:
  void problem(const std::string& path, const std::string& text) {
    if (result.problems.size() >= kMaxInputProblems) {
      ++result.omitted;
      return;
    }
    auto shown = text::printable(path);
    auto message = shown + ": " + text::printable(text);
    result.problems.push_back(InputProblem{std::move(shown), std::move(message)});
  }
};

}  // namespace

std::string InputCheck::summary() const {
  std::string text;
  for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p.message;
  if (omitted > 0) text += "; and " + std::to_string(omitted) + " more problems";
  return text;
}

InputCheck check_input(const InputContract& contract, const json::value& input) {
  Checker checker;
  static const InputField any_object{.type = FieldType::object};
  checker.value(any_object, input, "input");
  if (input.is_object() && contract.declared) {
    checker.object(contract.fields, contract.additional_fields, input.get_object(), "input");
  }
  return std::move(checker.result);
}

}  // namespace sagaflow::flow
