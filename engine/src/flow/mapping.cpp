// Mappings: JSON templates whose leaves may be paths. Subtrees without paths are folded into
// one literal when built, so rendering them is a single copy.
#include <algorithm>
#include <limits>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "sagaflow/flow/expression.hpp"

namespace sagaflow::flow {

struct Mapping::Node {
  enum class Kind { literal, path, object, array };
  Kind kind = Kind::literal;
  json::value literal;                                                      // literal
  Path path;                                                                // path
  std::vector<std::pair<std::string, std::shared_ptr<const Node>>> fields;  // object
  std::vector<std::shared_ptr<const Node>> elements;                        // array
};

namespace {

using Node = Mapping::Node;
using NodePtr = std::shared_ptr<const Mapping::Node>;

bool is_literal(const NodePtr& node) {
  return node == nullptr || node->kind == Node::Kind::literal;
}

// An absent child (an empty Mapping) stands for null.
const json::value& literal_of(const NodePtr& node) {
  static const json::value null_value;
  return node == nullptr ? null_value : node->literal;
}

NodePtr make_literal(json::value value) {
  auto node = std::make_shared<Node>();
  node->literal = std::move(value);
  return node;
}

constexpr std::size_t kMostValues = std::numeric_limits<std::size_t>::max();

std::size_t saturating_add(std::size_t a, std::size_t b) {
  return b > kMostValues - a ? kMostValues : a + b;
}

// Walked with an explicit stack: a literal built in code may be nested arbitrarily deep.
std::size_t values_of(const json::value& literal) {
  std::size_t values = 0;
  std::vector<const json::value*> pending{&literal};
  while (!pending.empty()) {
    const json::value* value = pending.back();
    pending.pop_back();
    ++values;
    if (const auto* object = value->if_object()) {
      for (const auto& member : *object) pending.push_back(&member.value());
    } else if (const auto* array = value->if_array()) {
      for (const auto& element : *array) pending.push_back(&element);
    }
  }
  return values;
}

// A collection and its children. Saturates: copies share their tree, so code can build a
// mapping whose expanded count exceeds any integer.
template <typename Mappings>
std::size_t values_with(const Mappings& children) {
  std::size_t values = 1;
  for (const Mapping& child : children) {
    values = saturating_add(values, std::max<std::size_t>(child.values(), 1));  // empty is null
  }
  return values;
}

json::value render_node(const NodePtr& node, const Scope& scope) {
  if (node == nullptr) return nullptr;
  switch (node->kind) {
    case Node::Kind::literal:
      return node->literal;
    case Node::Kind::path: {
      const json::value* value = node->path.resolve(scope);
      return value != nullptr ? *value : json::value(nullptr);
    }
    case Node::Kind::object: {
      json::object object;
      object.reserve(node->fields.size());
      for (const auto& [key, child] : node->fields) object.emplace(key, render_node(child, scope));
      return object;
    }
    case Node::Kind::array: {
      json::array array;
      array.reserve(node->elements.size());
      for (const auto& child : node->elements) array.push_back(render_node(child, scope));
      return array;
    }
  }
  return nullptr;
}

// A literal string that reads like a path is escaped, as a flow file writes it.
json::value literal_template(const json::value& literal) {
  if (const auto* string = literal.if_string()) {
    if (string->starts_with("$")) {
      json::string escaped("$");
      escaped.append(*string);
      return escaped;
    }
  }
  if (const auto* object = literal.if_object()) {
    json::object out;
    for (const auto& member : *object) out[member.key()] = literal_template(member.value());
    return out;
  }
  if (const auto* array = literal.if_array()) {
    json::array out;
    for (const auto& element : *array) out.push_back(literal_template(element));
    return out;
  }
  return literal;
}

json::value template_of(const NodePtr& node) {
  if (node == nullptr) return nullptr;
  switch (node->kind) {
    case Node::Kind::literal:
      return literal_template(node->literal);
    case Node::Kind::path:
      return json::string(node->path.text);
    case Node::Kind::object: {
      json::object object;
      for (const auto& [key, child] : node->fields) object[key] = template_of(child);
      return object;
    }
    case Node::Kind::array: {
      json::array array;
      for (const auto& child : node->elements) array.push_back(template_of(child));
      return array;
    }
  }
  return nullptr;
}

void collect_paths(const NodePtr& node, std::vector<const Path*>& out) {
  if (node == nullptr) return;
  switch (node->kind) {
    case Node::Kind::literal:
      return;
    case Node::Kind::path:
      out.push_back(&node->path);
      return;
    case Node::Kind::object:
      for (const auto& field : node->fields) collect_paths(field.second, out);
      return;
    case Node::Kind::array:
      for (const auto& element : node->elements) collect_paths(element, out);
      return;
  }
}

}  // namespace

Mapping::Mapping() = default;
Mapping::~Mapping() = default;
Mapping::Mapping(const Mapping&) = default;
Mapping& Mapping::operator=(const Mapping&) = default;
Mapping::Mapping(Mapping&&) noexcept = default;
Mapping& Mapping::operator=(Mapping&&) noexcept = default;

Mapping Mapping::literal(json::value value) {
  Mapping mapping;
  mapping.values_ = values_of(value);
  mapping.root_ = make_literal(std::move(value));
  return mapping;
}

Mapping Mapping::path(Path path) {
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::path;
  node->path = std::move(path);
  Mapping mapping;
  mapping.root_ = std::move(node);
  mapping.values_ = 1;
  return mapping;
}

Mapping Mapping::object(std::vector<std::pair<std::string, Mapping>> fields) {
  bool all_literal = true;
  std::size_t values = 1;
  for (const auto& field : fields) {
    all_literal = all_literal && is_literal(field.second.root_);
    values = saturating_add(values, std::max<std::size_t>(field.second.values(), 1));
  }
  Mapping mapping;
  // Summed here rather than through std::views::values, which clang 14 (the fuzz build) cannot
  // compile against libstdc++ 12's ranges.
  mapping.values_ = values;
  if (all_literal) {
    json::object object;
    for (const auto& [key, child] : fields) object[key] = literal_of(child.root_);
    mapping.root_ = make_literal(std::move(object));
    return mapping;
  }
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::object;
  for (auto& [key, child] : fields) node->fields.emplace_back(std::move(key), child.root_);
  mapping.root_ = std::move(node);
  return mapping;
}

Mapping Mapping::array(std::vector<Mapping> elements) {
  bool all_literal = true;
  for (const auto& element : elements) all_literal = all_literal && is_literal(element.root_);
  Mapping mapping;
  mapping.values_ = values_with(elements);
  if (all_literal) {
    json::array array;
    for (const auto& element : elements) array.push_back(literal_of(element.root_));
    mapping.root_ = make_literal(std::move(array));
    return mapping;
  }
  auto node = std::make_shared<Node>();
  node->kind = Node::Kind::array;
  for (const auto& element : elements) node->elements.push_back(element.root_);
  mapping.root_ = std::move(node);
  return mapping;
}

Mapping Mapping::from_template(const json::value& tmpl) {
  if (const auto* object = tmpl.if_object()) {
    std::vector<std::pair<std::string, Mapping>> fields;
    for (const auto& member : *object) {
      fields.emplace_back(std::string(member.key()), from_template(member.value()));
    }
    return Mapping::object(std::move(fields));
  }
  if (const auto* array = tmpl.if_array()) {
    std::vector<Mapping> elements;
    for (const auto& element : *array) elements.push_back(from_template(element));
    return Mapping::array(std::move(elements));
  }
  if (const auto* string = tmpl.if_string()) {
    const std::string_view text(string->data(), string->size());
    if (text.starts_with("$$")) return Mapping::literal(json::string(text.substr(1)));
    if (text.starts_with("$")) return Mapping::path(parse_path(text));
  }
  return Mapping::literal(tmpl);
}

// An empty mapping (nothing was written) renders as an empty object: a command or an event
// without an input still carries a JSON object.
json::value Mapping::render(const Scope& scope) const {
  if (root_ == nullptr) return json::object();
  return render_node(root_, scope);
}

json::value Mapping::to_template() const {
  return template_of(root_);
}

std::vector<const Path*> Mapping::paths() const {
  std::vector<const Path*> result;
  collect_paths(root_, result);
  return result;
}

}  // namespace sagaflow::flow
