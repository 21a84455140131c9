// Paths: `$root.segment.segment`, resolved against a Scope without allocating.
#include <array>
#include <charconv>
#include <string>
#include <string_view>

#include "sagaflow/flow/expression.hpp"
#include "sagaflow/flow/suggest.hpp"

namespace sagaflow::flow {
namespace {

struct RootName {
  std::string_view name;
  PathRoot root;
};

constexpr std::array<RootName, 6> kRoots{{{"input", PathRoot::input},
                                          {"steps", PathRoot::steps},
                                          {"reply", PathRoot::reply},
                                          {"event", PathRoot::event},
                                          {"item", PathRoot::item},
                                          {"saga", PathRoot::saga}}};

// The data a path reads is parsed at most 32 levels deep (Boost.JSON's default), so a longer
// path is a mistake or hostile.
constexpr std::size_t kMaxSegments = 32;

bool is_segment_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// A numeric segment indexes an array; any segment names an object member.
const json::value* lookup_segment(const json::value& base, std::string_view segment) {
  if (const auto* object = base.if_object()) return object->if_contains(segment);
  if (const auto* array = base.if_array()) {
    std::size_t index = 0;
    const char* end = segment.data() + segment.size();
    auto [stop, error] = std::from_chars(segment.data(), end, index);
    if (error != std::errc{} || stop != end || index >= array->size()) return nullptr;
    return &(*array)[index];
  }
  return nullptr;
}

const json::value* root_value(PathRoot root, const Scope& scope) {
  switch (root) {
    case PathRoot::input:
      return scope.input;
    case PathRoot::reply:
      return scope.reply;
    case PathRoot::event:
      return scope.event;
    case PathRoot::item:
      return scope.item;
    case PathRoot::saga:
      return scope.saga;
    case PathRoot::steps:
      break;  // an object, not a value: resolved by its first segment
  }
  return nullptr;
}

}  // namespace

const json::value* Path::resolve(const Scope& scope) const {
  const json::value* current = nullptr;
  std::size_t next = 0;
  if (root == PathRoot::steps) {
    if (scope.steps == nullptr || segments.empty()) return nullptr;
    current = scope.steps->if_contains(segments.front());
    next = 1;
  } else {
    current = root_value(root, scope);
  }
  for (; current != nullptr && next < segments.size(); ++next) {
    current = lookup_segment(*current, segments[next]);
  }
  return current;
}

std::string_view Path::step_name() const {
  if (root != PathRoot::steps || segments.empty()) return {};
  return segments.front();
}

Path parse_path(std::string_view text) {
  if (text.empty() || text.front() != '$') {
    throw ParseError(0, "a path starts with '$', like $input.user_id");
  }
  std::size_t pos = 1;
  while (pos < text.size() && is_segment_char(text[pos])) ++pos;
  const std::string_view root_name = text.substr(1, pos - 1);

  Path path;
  path.text = std::string(text);
  bool known_root = false;
  for (const auto& candidate : kRoots) {
    if (candidate.name == root_name) {
      path.root = candidate.root;
      known_root = true;
    }
  }
  if (!known_root) {
    std::array<std::string_view, kRoots.size()> names;
    for (std::size_t i = 0; i < kRoots.size(); ++i) names[i] = kRoots[i].name;
    const auto meant = closest_word(root_name, names);
    throw ParseError(1, "unknown path root '$" + std::string(root_name) + "'; " +
                            (meant ? "did you mean '$" + *meant + "'?"
                                   : "expected $input, $steps, $reply, $event, $item or $saga"));
  }
  while (pos < text.size()) {
    if (text[pos] != '.') {
      throw ParseError(pos, "unexpected character '" + std::string(1, text[pos]) +
                                "' in path; segments are letters, digits, '_' and '-'");
    }
    if (path.segments.size() == kMaxSegments) {
      throw ParseError(pos, "path longer than " + std::to_string(kMaxSegments) + " segments");
    }
    const std::size_t start = ++pos;
    while (pos < text.size() && is_segment_char(text[pos])) ++pos;
    if (pos == start) throw ParseError(start, "empty path segment");
    path.segments.emplace_back(text.substr(start, pos - start));
  }
  if (path.root == PathRoot::steps && path.segments.empty()) {
    throw ParseError(text.size(), "$steps needs a step name, like $steps.reserve.amount");
  }
  return path;
}

}  // namespace sagaflow::flow
