// Fuzz target: the expression language (flow/expression.hpp). The first line is parsed as a
// condition and as a path; the rest, when it is JSON, is the data they are evaluated against
// (every root at once) and a mapping template rendered over it. Parsers may only throw
// ParseError, at an offset inside the text; evaluating and rendering never throw.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sagaflow/flow/expression.hpp"
#include "sagaflow/json.hpp"

namespace {

namespace flow = sagaflow::flow;
namespace json = sagaflow::json;

void check(bool holds) {
  if (!holds) std::abort();  // a broken promise of the parser: libFuzzer keeps the input
}

flow::Scope scope_over(const json::value& data) {
  flow::Scope scope{.input = &data, .reply = &data, .event = &data, .item = &data, .saga = &data};
  if (data.is_object()) scope.steps = &data.as_object();
  return scope;
}

void try_expression(std::string_view text, const flow::Scope& scope) {
  try {
    const auto expression = flow::parse_expression(text);
    expression.test(scope);
    json::serialize(expression.evaluate(scope));
    for (const auto* path : expression.paths()) path->resolve(scope);
  } catch (const flow::ParseError& e) {
    check(e.offset <= text.size());
  }
}

void try_path(std::string_view text, const flow::Scope& scope) {
  try {
    const auto path = flow::parse_path(text);
    path.resolve(scope);
    path.step_name();
  } catch (const flow::ParseError& e) {
    check(e.offset <= text.size());
  }
}

void try_mapping(const json::value& tmpl, const flow::Scope& scope) {
  try {
    const auto mapping = flow::Mapping::from_template(tmpl);
    json::serialize(mapping.render(scope));
    for (const auto* path : mapping.paths()) path->resolve(scope);
  } catch (const flow::ParseError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(bytes), size);
  const auto newline = input.find('\n');
  const auto text = input.substr(0, newline);
  const auto rest =
      newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value data = json::parse(rest, ec, {}, options);
  if (ec) data = nullptr;
  const auto scope = scope_over(data);
  try_expression(text, scope);
  try_path(text, scope);
  if (!ec) try_mapping(data, scope);
  return 0;
}
