// Conditions: parsed once into a flat instruction array, evaluated by walking it. Evaluation
// returns references to values that already exist (scope data, literals, the constants
// below), so it never allocates until the caller asks for a copy of the result.
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "expression_internal.hpp"
#include "json_compare.hpp"
#include "sagaflow/flow/expression.hpp"
#include "sagaflow/flow/suggest.hpp"

namespace sagaflow::flow {

struct Expression::Node {
  enum class Op : std::uint8_t { literal, path, negate, all, any, eq, ne, lt, le, gt, ge };
  // literal/path: `first` indexes literals/paths. negate: `first` is the operand.
  // all/any (&&/||, n-ary): operands are operands[first, first + second).
  // comparisons: `first` and `second` are the operands.
  struct Instruction {
    Op op;
    std::uint32_t first = 0;
    std::uint32_t second = 0;
  };
  std::vector<Instruction> instructions;  // operands come before their operator; root is last
  std::vector<std::uint32_t> operands;
  std::vector<json::value> literals;
  std::vector<Path> paths;  // in textual order
};

namespace {

using Op = Expression::Node::Op;

// Deep enough for any real condition, shallow enough that the parser's and the evaluator's
// recursion stays a few kilobytes of stack whatever the text.
constexpr int kMaxNesting = 32;
// A condition, not a program; also bounds the parsed program's size.
constexpr std::size_t kMaxLength = 4096;

enum class TokenKind {
  end,
  path,
  number,
  string,
  true_,
  false_,
  null,
  open,
  close,
  not_,
  and_,
  or_,
  eq,
  ne,
  lt,
  le,
  gt,
  ge
};

struct Token {
  TokenKind kind = TokenKind::end;
  std::size_t offset = 0;
  std::string_view text;  // as written (strings include their quotes)
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_';
}
bool is_path_char(char c) {
  return is_word_char(c) || c == '-' || c == '.';
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
    if (pos_ == text_.size()) return {TokenKind::end, pos_, {}};
    const char c = text_[pos_];
    if (c == '$') return take_while(TokenKind::path, 1, is_path_char);
    if (is_digit(c) || (c == '-' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
      return number();
    }
    if (c == '\'' || c == '"') return string(c);
    if (is_word_char(c)) return word();
    return symbol(c);
  }

 private:
  template <typename Pred>
  Token take_while(TokenKind kind, std::size_t skip, Pred pred) {
    const std::size_t start = pos_;
    pos_ += skip;
    while (pos_ < text_.size() && pred(text_[pos_])) ++pos_;
    return {kind, start, text_.substr(start, pos_ - start)};
  }

  void digits() {
    while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
  }

  // -?digits(.digits)?([eE][+-]?digits)?
  Token number() {
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    digits();
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && is_digit(text_[pos_ + 1])) {
      ++pos_;
      digits();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (pos_ == text_.size() || !is_digit(text_[pos_])) {
        throw ParseError(pos_, "malformed number: exponent without digits");
      }
      digits();
    }
    if (pos_ < text_.size() && (is_word_char(text_[pos_]) || text_[pos_] == '.')) {
      throw ParseError(pos_, "malformed number");
    }
    return {TokenKind::number, start, text_.substr(start, pos_ - start)};
  }

  Token string(char quote) {
    const std::size_t start = pos_++;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      pos_ += text_[pos_] == '\\' ? 2 : 1;
    }
    if (pos_ >= text_.size()) throw ParseError(start, "unterminated string");
    ++pos_;
    return {TokenKind::string, start, text_.substr(start, pos_ - start)};
  }

  Token word() {
    Token token = take_while(TokenKind::end, 0, is_word_char);
    if (token.text == "true") token.kind = TokenKind::true_;
    if (token.text == "false") token.kind = TokenKind::false_;
    if (token.text == "null") token.kind = TokenKind::null;
    if (token.kind == TokenKind::end) throw unknown_word(token);
    return token;
  }

  // Python's, SQL's and YAML's spellings of the operators and constants are the likely mistakes.
  static ParseError unknown_word(const Token& token) {
    struct Foreign {
      std::string_view word;
      std::string_view meant;
      bool is_operator;
    };
    static constexpr std::array<Foreign, 7> kForeign{{{"and", "&&", true},
                                                      {"or", "||", true},
                                                      {"not", "!", true},
                                                      {"true", "true", false},
                                                      {"false", "false", false},
                                                      {"null", "null", false},
                                                      {"none", "null", false}}};
    static constexpr std::array<std::string_view, 3> kConstants{"true", "false", "null"};
    const std::string word(token.text);
    for (const auto& foreign : kForeign) {
      // Distance 0 is equality without case: `AND`, `True`, `NULL`.
      if (edit_distance(token.text, foreign.word, 0) != 0) continue;
      return ParseError(token.offset, "'" + word + "' is not " +
                                          (foreign.is_operator ? "an operator" : "a value") +
                                          " here; write '" + std::string(foreign.meant) + "'");
    }
    const std::string meant = did_you_mean(token.text, kConstants);
    return ParseError(
        token.offset,
        "unknown word '" + word + "'" +
            (meant.empty() ? "; paths start with '$' and strings are quoted" : meant));
  }

  Token symbol(char c) {
    const std::size_t start = pos_;
    const char following = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    auto make = [&](TokenKind kind, std::size_t length) {
      pos_ += length;
      return Token{kind, start, text_.substr(start, length)};
    };
    switch (c) {
      case '(':
        return make(TokenKind::open, 1);
      case ')':
        return make(TokenKind::close, 1);
      case '!':
        return following == '=' ? make(TokenKind::ne, 2) : make(TokenKind::not_, 1);
      case '<':
        if (following == '>') throw ParseError(start, "'<>' is not an operator here; write '!='");
        return following == '=' ? make(TokenKind::le, 2) : make(TokenKind::lt, 1);
      case '>':
        return following == '=' ? make(TokenKind::ge, 2) : make(TokenKind::gt, 1);
      case '=':
        if (following == '=') return make(TokenKind::eq, 2);
        throw ParseError(start, "'=' is not an operator; compare with '=='");
      case '&':
        if (following == '&') return make(TokenKind::and_, 2);
        throw ParseError(start, "'&' is not an operator; use '&&'");
      case '|':
        if (following == '|') return make(TokenKind::or_, 2);
        throw ParseError(start, "'|' is not an operator; use '||'");
      default:
        throw ParseError(start, "unexpected character '" + std::string(1, c) + "'");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

json::value number_literal(const Token& token) {
  const char* begin = token.text.data();
  const char* end = begin + token.text.size();
  if (token.text.find_first_of(".eE") == std::string_view::npos) {
    std::int64_t signed_value = 0;
    if (auto r = std::from_chars(begin, end, signed_value); r.ec == std::errc{} && r.ptr == end) {
      return signed_value;
    }
    std::uint64_t unsigned_value = 0;
    if (auto r = std::from_chars(begin, end, unsigned_value); r.ec == std::errc{} && r.ptr == end) {
      return unsigned_value;
    }
  }
  double double_value = 0;
  if (auto r = std::from_chars(begin, end, double_value); r.ec == std::errc{} && r.ptr == end) {
    return double_value;
  }
  throw ParseError(token.offset, "number out of range");
}

// A backslash makes the next character literal: 'it\'s', "say \"hi\"", 'a\\b'.
json::value string_literal(const Token& token) {
  const std::string_view body = token.text.substr(1, token.text.size() - 2);
  std::string value;
  value.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\' && i + 1 < body.size()) ++i;
    value.push_back(body[i]);
  }
  return json::string(value);
}

bool is_comparison(TokenKind kind) {
  return kind == TokenKind::eq || kind == TokenKind::ne || kind == TokenKind::lt ||
         kind == TokenKind::le || kind == TokenKind::gt || kind == TokenKind::ge;
}

Op comparison_op(TokenKind kind) {
  switch (kind) {
    case TokenKind::eq:
      return Op::eq;
    case TokenKind::ne:
      return Op::ne;
    case TokenKind::lt:
      return Op::lt;
    case TokenKind::le:
      return Op::le;
    case TokenKind::gt:
      return Op::gt;
    default:
      return Op::ge;
  }
}

// Recursive descent: or := and ('||' and)* ; and := cmp ('&&' cmp)* ;
// cmp := unary (CMP unary)? ; unary := '!' unary | primary ;
// primary := path | number | string | true | false | null | '(' or ')'.
class Parser {
 public:
  Parser(std::string_view text, Expression::Node& program) : lexer_(text), program_(program) {
    advance();
  }

  void parse() {
    if (current_.kind == TokenKind::end) throw ParseError(0, "empty expression");
    parse_or(0);
    if (current_.kind != TokenKind::end) {
      throw ParseError(current_.offset, "unexpected '" + std::string(current_.text) +
                                            "'; expected an operator or the end");
    }
  }

 private:
  void advance() { current_ = lexer_.next(); }

  std::uint32_t emit(Op op, std::uint32_t first = 0, std::uint32_t second = 0) {
    program_.instructions.push_back({op, first, second});
    return static_cast<std::uint32_t>(program_.instructions.size() - 1);
  }

  // && and || chains become one n-ary instruction, so `a && b && c ...` does not nest.
  template <typename ParseOperand>
  std::uint32_t parse_chain(TokenKind separator, Op op, ParseOperand parse_operand) {
    std::vector<std::uint32_t> chain{parse_operand()};
    while (current_.kind == separator) {
      advance();
      chain.push_back(parse_operand());
    }
    if (chain.size() == 1) return chain.front();
    const auto first = static_cast<std::uint32_t>(program_.operands.size());
    program_.operands.insert(program_.operands.end(), chain.begin(), chain.end());
    return emit(op, first, static_cast<std::uint32_t>(chain.size()));
  }

  std::uint32_t parse_or(int depth) {
    return parse_chain(TokenKind::or_, Op::any, [&] { return parse_and(depth); });
  }

  std::uint32_t parse_and(int depth) {
    return parse_chain(TokenKind::and_, Op::all, [&] { return parse_comparison(depth); });
  }

  std::uint32_t parse_comparison(int depth) {
    const std::uint32_t left = parse_unary(depth);
    if (!is_comparison(current_.kind)) return left;
    const Op op = comparison_op(current_.kind);
    advance();
    const std::uint32_t right = parse_unary(depth);
    if (is_comparison(current_.kind)) {
      throw ParseError(current_.offset,
                       "comparisons cannot be chained; combine them with && or ||");
    }
    return emit(op, left, right);
  }

  std::uint32_t parse_unary(int depth) {
    if (current_.kind != TokenKind::not_) return parse_primary(depth);
    check_depth(depth);
    advance();
    return emit(Op::negate, parse_unary(depth + 1));
  }

  std::uint32_t parse_primary(int depth) {
    const Token token = current_;
    switch (token.kind) {
      case TokenKind::path:
        advance();
        return emit(Op::path, add_path(token));
      case TokenKind::number:
        advance();
        return emit(Op::literal, add_literal(number_literal(token)));
      case TokenKind::string:
        advance();
        return emit(Op::literal, add_literal(string_literal(token)));
      case TokenKind::true_:
      case TokenKind::false_:
        advance();
        return emit(Op::literal, add_literal(token.kind == TokenKind::true_));
      case TokenKind::null:
        advance();
        return emit(Op::literal, add_literal(nullptr));
      case TokenKind::open:
        return parse_parenthesized(depth);
      case TokenKind::end:
        throw ParseError(token.offset, "expected a value, but the expression ended");
      default:
        throw ParseError(token.offset, "expected a value (a path, a literal or '('), found '" +
                                           std::string(token.text) + "'");
    }
  }

  std::uint32_t parse_parenthesized(int depth) {
    check_depth(depth);
    const std::size_t open_offset = current_.offset;
    advance();
    const std::uint32_t inner = parse_or(depth + 1);
    if (current_.kind != TokenKind::close) {
      throw ParseError(current_.offset,
                       "missing ')' for the '(' at offset " + std::to_string(open_offset));
    }
    advance();
    return inner;
  }

  void check_depth(int depth) const {
    if (depth >= kMaxNesting) {
      throw ParseError(current_.offset, "expression nested deeper than " +
                                            std::to_string(kMaxNesting) +
                                            " levels of parentheses and '!'");
    }
  }

  std::uint32_t add_path(const Token& token) {
    try {
      program_.paths.push_back(parse_path(token.text));
    } catch (const ParseError& error) {
      throw ParseError(token.offset + error.offset, error.what());
    }
    return static_cast<std::uint32_t>(program_.paths.size() - 1);
  }

  std::uint32_t add_literal(json::value value) {
    program_.literals.push_back(std::move(value));
    return static_cast<std::uint32_t>(program_.literals.size() - 1);
  }

  Lexer lexer_;
  Expression::Node& program_;
  Token current_;
};

const json::value kNull;
const json::value kTrue(true);
const json::value kFalse(false);

const json::value& boolean(bool b) {
  return b ? kTrue : kFalse;
}

class Evaluator {
 public:
  Evaluator(const Expression::Node& program, const Scope& scope)
      : program_(program), scope_(scope) {}

  const json::value& eval(std::uint32_t index) const noexcept {
    const auto& instruction = program_.instructions[index];
    switch (instruction.op) {
      case Op::literal:
        return program_.literals[instruction.first];
      case Op::path: {
        const json::value* value = program_.paths[instruction.first].resolve(scope_);
        return value != nullptr ? *value : kNull;
      }
      case Op::negate:
        return boolean(!detail::json_truthy(eval(instruction.first)));
      case Op::all:
        return boolean(chain_holds(instruction, false));
      case Op::any:
        return boolean(chain_holds(instruction, true));
      case Op::eq:
        return boolean(detail::json_equal(eval(instruction.first), eval(instruction.second)));
      case Op::ne:
        return boolean(!detail::json_equal(eval(instruction.first), eval(instruction.second)));
      default:
        return boolean(order_holds(instruction));
    }
  }

 private:
  // Short-circuits: && stops at the first false operand, || at the first true one.
  bool chain_holds(const Expression::Node::Instruction& instruction,
                   bool stop_value) const noexcept {
    for (std::uint32_t i = 0; i < instruction.second; ++i) {
      const std::uint32_t operand = program_.operands[instruction.first + i];
      if (detail::json_truthy(eval(operand)) == stop_value) return stop_value;
    }
    return !stop_value;
  }

  bool order_holds(const Expression::Node::Instruction& instruction) const noexcept {
    const auto order = detail::json_order(eval(instruction.first), eval(instruction.second));
    switch (instruction.op) {
      case Op::lt:
        return order < 0;
      case Op::le:
        return order <= 0;
      case Op::gt:
        return order > 0;
      default:
        return order >= 0;
    }
  }

  const Expression::Node& program_;
  const Scope& scope_;
};

}  // namespace

Expression::Expression() = default;
Expression::~Expression() = default;
Expression::Expression(const Expression&) = default;
Expression& Expression::operator=(const Expression&) = default;
Expression::Expression(Expression&&) noexcept = default;
Expression& Expression::operator=(Expression&&) noexcept = default;

json::value Expression::evaluate(const Scope& scope) const {
  if (root_ == nullptr) return nullptr;
  const auto root = static_cast<std::uint32_t>(root_->instructions.size() - 1);
  return Evaluator(*root_, scope).eval(root);
}

bool Expression::test(const Scope& scope) const {
  if (root_ == nullptr) return false;
  const auto root = static_cast<std::uint32_t>(root_->instructions.size() - 1);
  return detail::json_truthy(Evaluator(*root_, scope).eval(root));
}

std::vector<const Path*> Expression::paths() const {
  std::vector<const Path*> result;
  if (root_ == nullptr) return result;
  for (const Path& path : root_->paths) result.push_back(&path);
  return result;
}

std::vector<const json::value*> Expression::literals() const {
  std::vector<const json::value*> result;
  if (root_ == nullptr) return result;
  for (const json::value& literal : root_->literals) result.push_back(&literal);
  return result;
}

Expression parse_expression(std::string_view text) {
  if (text.size() > kMaxLength) {
    throw ParseError(kMaxLength,
                     "expression longer than " + std::to_string(kMaxLength) + " characters");
  }
  auto program = std::make_shared<Expression::Node>();
  Parser(text, *program).parse();
  Expression expression;
  expression.root_ = std::move(program);
  expression.text_ = std::string(text);
  return expression;
}

namespace detail {

std::vector<std::size_t> path_offsets(std::string_view expression_text) {
  std::vector<std::size_t> offsets;
  Lexer lexer(expression_text);
  for (Token token = lexer.next(); token.kind != TokenKind::end; token = lexer.next()) {
    if (token.kind == TokenKind::path) offsets.push_back(token.offset);
  }
  return offsets;
}

}  // namespace detail
}  // namespace sagaflow::flow
