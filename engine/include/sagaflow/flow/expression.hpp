#pragma once
// Paths, conditions and mappings of the flow language. All are parsed once, when a flow is
// loaded; evaluating them never parses again and never throws for missing data (a missing
// path is null).
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sagaflow/json.hpp"

namespace sagaflow::flow {

// The roots a path may start with. `$input.user_id`, `$steps.reserve.amount`, `$reply.id`,
// `$event.paymentVersion`, `$item.orderLineId`, `$saga.id`.
enum class PathRoot { input, steps, reply, event, item, saga };

// What a path or an expression is evaluated against. Pointers may be null: that root is then
// absent and every path under it yields null.
struct Scope {
  const json::value* input = nullptr;
  const json::object* steps = nullptr;
  const json::value* reply = nullptr;
  const json::value* event = nullptr;
  const json::value* item = nullptr;
  const json::value* saga = nullptr;
};

// A `$root.a.b.0.c` reference. Numeric segments index arrays.
class Path {
 public:
  PathRoot root = PathRoot::input;
  std::vector<std::string> segments;  // after the root
  std::string text;                   // as written, e.g. "$steps.reserve.amount"

  // Resolves against the scope; null when any segment is missing.
  const json::value* resolve(const Scope& scope) const;
  // For `$steps.<name>...`: the step it refers to, else empty.
  std::string_view step_name() const;
};

// Thrown by the parsers; `offset` is the 0-based character offset in the parsed text.
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t offset, const std::string& message)
      : std::runtime_error(message), offset(offset) {}
  std::size_t offset;
};

// Parses "$root.seg.seg". Throws ParseError.
Path parse_path(std::string_view text);

// A condition: comparisons (== != < <= > >=), && || !, parentheses, paths, and the literals
// null, true, false, numbers, 'strings' and "strings". Not a general language on purpose.
class Expression {
 public:
  struct Node;
  Expression();
  ~Expression();
  Expression(const Expression&);
  Expression& operator=(const Expression&);
  Expression(Expression&&) noexcept;
  Expression& operator=(Expression&&) noexcept;

  json::value evaluate(const Scope& scope) const;
  // Truthiness: null, false, 0 and "" are false; everything else true.
  bool test(const Scope& scope) const;
  const std::string& text() const { return text_; }
  // Every path the expression reads, for verification of step references.
  std::vector<const Path*> paths() const;
  // Every literal it compares with (null, true, false, numbers, strings), for the lint's check
  // of conditions that can never hold.
  std::vector<const json::value*> literals() const;

 private:
  friend Expression parse_expression(std::string_view text);
  std::shared_ptr<const Node> root_;
  std::string text_;
};

// Throws ParseError.
Expression parse_expression(std::string_view text);

// A JSON template: objects and arrays whose string leaves starting with `$` are paths
// (`$$` escapes a literal dollar). Rendering builds the payload of a command or event.
class Mapping {
 public:
  struct Node;
  Mapping();
  ~Mapping();
  Mapping(const Mapping&);
  Mapping& operator=(const Mapping&);
  Mapping(Mapping&&) noexcept;
  Mapping& operator=(Mapping&&) noexcept;

  // Builders, so that a loader can check every leaf with its own source position.
  static Mapping literal(json::value value);
  static Mapping path(Path path);
  static Mapping object(std::vector<std::pair<std::string, Mapping>> fields);
  static Mapping array(std::vector<Mapping> elements);
  // Convenience for code and tests: string leaves starting with `$` become paths (`$$` is a
  // literal `$`). Throws ParseError for a malformed path.
  static Mapping from_template(const json::value& tmpl);

  json::value render(const Scope& scope) const;
  // The inverse of from_template: paths as their `$` text, literal strings starting with `$`
  // escaped as `$$` (null for an empty mapping). Two mappings that build the same values from
  // the same paths have equal templates.
  json::value to_template() const;
  bool empty() const { return root_ == nullptr; }
  std::vector<const Path*> paths() const;

  // What a flow file's mapping may hold; the loader refuses a bigger one at its position. The
  // depth (levels of maps and lists) leaves room for the data that paths bring under the 32
  // levels JSON parsers accept by default.
  static constexpr int kMaxDepth = 16;
  static constexpr std::size_t kMaxValues = 10'000;
  // Every object, array, scalar and path of the template counts one (0 for an empty mapping).
  std::size_t values() const { return values_; }

 private:
  std::shared_ptr<const Node> root_;
  std::size_t values_ = 0;
};

}  // namespace sagaflow::flow
