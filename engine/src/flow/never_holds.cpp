// Whether a condition can ever hold: every combination of values its paths may take is tried
// on the real evaluator. Each path's candidates are chosen so that every comparison the
// condition makes sees each of its outcomes: each literal, the numbers just below, between and
// just above the numeric literals, a string just above each string literal, and one value of
// every JSON kind.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "flow_warnings.hpp"
#include "json_compare.hpp"

namespace sagaflow::flow::detail {
namespace {

json::value number(double value) {
  if (std::floor(value) == value && std::abs(value) < 9e15) {
    return static_cast<std::int64_t>(value);
  }
  return value;
}

double as_double(const json::value& value) {
  if (value.is_int64()) return static_cast<double>(value.get_int64());
  if (value.is_uint64()) return static_cast<double>(value.get_uint64());
  return value.get_double();
}

void add_candidate(std::vector<json::value>& candidates, json::value value) {
  const bool known = std::any_of(candidates.begin(), candidates.end(), [&](const json::value& v) {
    return v.kind() == value.kind() && json_equal(v, value);
  });
  if (!known) candidates.push_back(std::move(value));
}

std::vector<json::value> base_candidates(const Expression& condition) {
  std::vector<json::value> candidates{
      nullptr, true, false, 0, 1, json::string(), json::string("a"), json::object(), json::array()};
  std::vector<double> numbers;
  for (const json::value* literal : condition.literals()) {
    add_candidate(candidates, *literal);
    if (literal->is_number()) numbers.push_back(as_double(*literal));
    if (const auto* text = literal->if_string()) {
      json::string above(*text);
      above.push_back('\x01');
      add_candidate(candidates, std::move(above));
    }
  }
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    add_candidate(candidates, number(numbers[i] - 1));
    add_candidate(candidates, number(numbers[i] + 1));
    if (i + 1 < numbers.size()) {
      const double middle = (numbers[i] + numbers[i + 1]) / 2;
      add_candidate(candidates, number(middle));
      add_candidate(candidates, number(std::floor(middle)));
      add_candidate(candidates, number(std::ceil(middle)));
    }
  }
  return candidates;
}

// `a` is `b` or lies under it (same root, b's segments a prefix of a's).
bool under(const Path& a, const Path& b) {
  return a.root == b.root && b.segments.size() <= a.segments.size() &&
         std::equal(b.segments.begin(), b.segments.end(), a.segments.begin());
}

void set_at(json::value& root, const std::vector<std::string>& segments, const json::value& value) {
  json::value* at = &root;
  for (const auto& segment : segments) {
    if (!at->is_object()) *at = json::object();
    at = &at->get_object()[segment];
  }
  *at = value;
}

}  // namespace

bool never_holds(const Expression& condition, const PathValues& values) {
  std::vector<const Path*> paths;
  for (const Path* path : condition.paths()) {
    if (std::any_of(path->segments.begin(), path->segments.end(), is_index_segment)) return false;
    const bool same = std::any_of(paths.begin(), paths.end(),
                                  [&](const Path* p) { return p->text == path->text; });
    if (same) continue;
    const bool nested = std::any_of(paths.begin(), paths.end(), [&](const Path* p) {
      return under(*p, *path) || under(*path, *p);
    });
    if (nested) return false;
    paths.push_back(path);
  }
  const std::vector<json::value> base = base_candidates(condition);
  std::vector<std::vector<json::value>> candidates;
  std::size_t combinations = 1;
  for (const Path* path : paths) {
    std::vector<json::value> all = base;
    if (values.extra) {
      for (auto& value : values.extra(*path)) add_candidate(all, std::move(value));
    }
    std::vector<json::value> kept;
    for (auto& value : all) {
      if (!values.possible || values.possible(*path, value)) kept.push_back(std::move(value));
    }
    if (kept.empty()) return false;
    combinations *= kept.size();
    if (combinations > kMaxNeverHoldsEvaluations) return false;
    candidates.push_back(std::move(kept));
  }
  std::vector<std::size_t> choice(paths.size(), 0);
  for (std::size_t n = 0; n < combinations; ++n) {
    json::value input, reply, event, item, saga;
    json::value steps = json::object();
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const Path& path = *paths[i];
      json::value* root = &input;
      switch (path.root) {
        case PathRoot::input:
          break;
        case PathRoot::steps:
          root = &steps;
          break;
        case PathRoot::reply:
          root = &reply;
          break;
        case PathRoot::event:
          root = &event;
          break;
        case PathRoot::item:
          root = &item;
          break;
        case PathRoot::saga:
          root = &saga;
          break;
      }
      set_at(*root, path.segments, candidates[i][choice[i]]);
    }
    if (!steps.is_object()) return false;  // `$steps` alone names no step
    const Scope scope{&input, &steps.get_object(), &reply, &event, &item, &saga};
    if (condition.test(scope)) return false;
    // The next combination: an odometer over the candidates.
    for (std::size_t i = 0; i < choice.size(); ++i) {
      if (++choice[i] < candidates[i].size()) break;
      choice[i] = 0;
    }
  }
  return true;
}

}  // namespace sagaflow::flow::detail
