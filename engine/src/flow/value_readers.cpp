#include <string>
#include <utility>
#include <vector>

#include "expression_internal.hpp"
#include "flow_reader.hpp"

namespace sagaflow::flow::detail {
namespace {

// Why a root cannot be read at some place: each root is tied to one kind of place.
std::string root_restriction(PathRoot root) {
  switch (root) {
    case PathRoot::reply:
      return "$reply is only available in the output of a command or foreach step";
    case PathRoot::event:
      return "$event is only available in a trigger and in a wait's key, until, stale and output";
    case PathRoot::item:
      return "$item is only available inside a foreach step: its command input, output and "
             "compensation";
    default:
      return "only the event may be read here (a wait's key, a trigger), like $event.payment_id";
  }
}

// A map or list with too many values is refused at its own position, once: what encloses it
// sees a null in its place.
Mapping within_size(Mapping mapping, const YamlNode& node, Reporter& reporter) {
  if (mapping.values() <= Mapping::kMaxValues) return mapping;
  reporter.error(node.pos(),
                 "mapping with more than " + std::to_string(Mapping::kMaxValues) + " values");
  return Mapping::literal(nullptr);
}

}  // namespace

std::optional<Expression> FlowReader::read_expression(const Field& field, const PathRules& rules,
                                                      const StepScope& scope) {
  auto text = read_string(field, reporter_);
  if (!text) return std::nullopt;
  Expression expression;
  try {
    expression = parse_expression(*text);
  } catch (const ParseError& error) {
    reporter_.error(reporter_.position_in_scalar(*field.value, error.offset),
                    "invalid expression in '" + field.name() + "': " + error.what());
    return std::nullopt;
  }
  const std::vector<std::size_t> offsets = path_offsets(*text);
  const std::vector<const Path*> paths = expression.paths();
  for (std::size_t i = 0; i < paths.size() && i < offsets.size(); ++i) {
    const SourcePos pos = reporter_.position_in_scalar(*field.value, offsets[i]);
    check_path(*paths[i], rules, scope, pos);
    index_.paths.emplace(paths[i], pos);
  }
  return expression;
}

// Leaves starting with `$` are paths (quoted or not: quoting is YAML syntax, not meaning);
// `$$` escapes a literal dollar. Other scalars keep their YAML type.
Mapping FlowReader::read_mapping(const YamlNode& node, const PathRules& rules,
                                 const StepScope& scope, int level) {
  if ((node.is_map() || node.is_sequence()) && level > Mapping::kMaxDepth) {
    reporter_.error(node.pos(), "mapping nested deeper than " + std::to_string(Mapping::kMaxDepth) +
                                    " levels of maps and lists");
    return Mapping::literal(nullptr);
  }
  if (node.is_map()) {
    std::vector<std::pair<std::string, Mapping>> fields;
    for (const auto& [key, value] : node.entries()) {
      fields.emplace_back(key->scalar(), read_mapping(*value, rules, scope, level + 1));
    }
    return within_size(Mapping::object(std::move(fields)), node, reporter_);
  }
  if (node.is_sequence()) {
    std::vector<Mapping> elements;
    for (const YamlNode* element : node.elements()) {
      elements.push_back(read_mapping(*element, rules, scope, level + 1));
    }
    return within_size(Mapping::array(std::move(elements)), node, reporter_);
  }
  if (!node.is_scalar()) return Mapping::literal(nullptr);
  const std::string& text = node.scalar();
  if (text.starts_with("$$")) return Mapping::literal(json::string(text.substr(1)));
  if (!text.starts_with("$")) return Mapping::literal(scalar_to_json(node));
  try {
    Path path = parse_path(text);
    const SourcePos pos = reporter_.position_in_scalar(node, 0);
    check_path(path, rules, scope, pos);
    Mapping mapping = Mapping::path(std::move(path));
    index_.paths.emplace(mapping.paths().front(), pos);
    return mapping;
  } catch (const ParseError& error) {
    reporter_.error(reporter_.position_in_scalar(node, error.offset),
                    "invalid path '" + text + "': " + error.what());
    return Mapping::literal(nullptr);
  }
}

std::optional<Path> FlowReader::read_path(const Field& field, const PathRules& rules,
                                          const StepScope& scope) {
  auto text = read_string(field, reporter_);
  if (!text) return std::nullopt;
  try {
    Path path = parse_path(*text);
    check_path(path, rules, scope, reporter_.position_in_scalar(*field.value, 0));
    return path;
  } catch (const ParseError& error) {
    reporter_.error(reporter_.position_in_scalar(*field.value, error.offset),
                    "invalid path in '" + field.name() + "': " + error.what());
    return std::nullopt;
  }
}

void FlowReader::check_path(const Path& path, const PathRules& rules, const StepScope& scope,
                            SourcePos pos) {
  if ((rules.roots & root_bit(path.root)) == 0) {
    reporter_.error(pos, root_restriction(path.root));
    return;
  }
  if (path.root != PathRoot::steps) return;
  const std::string_view target = path.step_name();
  if (!scope.self.empty() && target == scope.self) {
    if (!rules.self) {
      reporter_.error(pos, "step '" + scope.self +
                               "' cannot read its own result here; only its output, "
                               "compensation, until and stale can");
    }
    return;
  }
  if (scope.completed != nullptr && scope.completed->contains(target)) return;
  pending_.push_back({std::string(target), scope.self, path.text, pos, rules.any_step});
}

}  // namespace sagaflow::flow::detail
