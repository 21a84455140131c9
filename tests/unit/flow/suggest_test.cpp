// "Did you mean": close words are suggested, far ones never.
#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/suggest.hpp"

using sagaflow::flow::closest_word;
using sagaflow::flow::did_you_mean;
using sagaflow::flow::edit_distance;
using sagaflow::flow::suggestion_threshold;

namespace {

constexpr std::array<std::string_view, 5> kStepKeys{"name", "command", "compensation", "retry",
                                                    "timeout"};

}  // namespace

TEST_CASE("edit_distance counts insertions, deletions, substitutions and swaps") {
  CHECK(edit_distance("", "", 5) == 0);
  CHECK(edit_distance("abc", "", 5) == 3);
  CHECK(edit_distance("", "abc", 5) == 3);
  CHECK(edit_distance("retry", "retry", 5) == 0);
  CHECK(edit_distance("retyr", "retry", 5) == 1);  // a swap of neighbours is one edit
  CHECK(edit_distance("pionts", "points", 5) == 1);
  CHECK(edit_distance("comand", "command", 5) == 1);    // insertion
  CHECK(edit_distance("commmand", "command", 5) == 1);  // deletion
  CHECK(edit_distance("kitten", "sitting", 5) == 3);
  CHECK(edit_distance("compensate", "compensation", 5) == 3);
  CHECK(edit_distance("Name", "name", 5) == 0);  // case does not count
}

TEST_CASE("edit_distance stops past its limit") {
  CHECK(edit_distance("kitten", "sitting", 2) == 3);
  CHECK(edit_distance("a", "abcdefgh", 3) == 4);
  CHECK(edit_distance("abcdefgh", "zyxwvuts", 1) == 2);
}

TEST_CASE("the threshold grows with the word: none below 3 characters, one per 3") {
  CHECK(suggestion_threshold("ab") == 0);
  CHECK(suggestion_threshold("abc") == 1);
  CHECK(suggestion_threshold("abcdef") == 2);
  CHECK(suggestion_threshold("compensate") == 3);
}

TEST_CASE("a close word is suggested") {
  CHECK(closest_word("compensate", kStepKeys) == "compensation");
  CHECK(closest_word("comand", kStepKeys) == "command");
  CHECK(closest_word("retyr", kStepKeys) == "retry");
  CHECK(closest_word("Name", kStepKeys) == "name");
  constexpr std::array<std::string_view, 2> services{"points", "payments"};
  CHECK(closest_word("pionts", services) == "points");
}

TEST_CASE("of equally close words the first is suggested, and a closer one wins") {
  constexpr std::array<std::string_view, 3> names{"cart", "card", "car"};
  CHECK(closest_word("cars", names) == "cart");
  CHECK(closest_word("carx", std::array<std::string_view, 2>{"cart", "carxy"}) == "cart");
  CHECK(closest_word("cardd", names) == "card");
  CHECK(closest_word("abcdef", std::array<std::string_view, 2>{"abcdxy", "abcdex"}) == "abcdex");
}

TEST_CASE("a word that is one part of exactly one candidate suggests it") {
  constexpr std::array<std::string_view, 3> retry{"max_attempts", "initial_delay", "max_delay"};
  CHECK(closest_word("attempts", retry) == "max_attempts");
  CHECK_FALSE(closest_word("delay", retry).has_value());  // two candidates have it
  CHECK_FALSE(closest_word("max", retry).has_value());
}

TEST_CASE("nothing is suggested for a wildly different word") {
  CHECK_FALSE(closest_word("owner", kStepKeys).has_value());
  CHECK_FALSE(closest_word("payload", kStepKeys).has_value());
  CHECK_FALSE(closest_word("xyz", kStepKeys).has_value());
  // Short words are too easily one edit from anything.
  CHECK_FALSE(closest_word("na", kStepKeys).has_value());
  CHECK_FALSE(closest_word("", kStepKeys).has_value());
  CHECK_FALSE(closest_word("anything", std::array<std::string_view, 0>{}).has_value());
}

TEST_CASE("a word is never suggested to itself") {
  CHECK_FALSE(closest_word("retry", std::array<std::string_view, 1>{"retry"}).has_value());
  CHECK(closest_word("retry", std::array<std::string_view, 2>{"retry", "retro"}) == "retro");
}

TEST_CASE("a very long word gets no suggestion") {
  const std::string long_word(65, 'a');
  const std::string candidate(64, 'a');
  const std::array<std::string_view, 1> candidates{candidate};
  CHECK_FALSE(closest_word(long_word, candidates).has_value());
  CHECK(closest_word(std::string(63, 'a'), candidates) == candidate);
}

TEST_CASE("a close name among thousands is found") {
  std::vector<std::string> names;
  for (int i = 0; i < 20000; ++i) names.push_back("step_" + std::to_string(i));
  const std::vector<std::string_view> views(names.begin(), names.end());
  CHECK(closest_word("step_1x", views) == "step_1");
}

TEST_CASE("did_you_mean is a suffix for a message, or nothing") {
  CHECK(did_you_mean("compensate", kStepKeys) == "; did you mean 'compensation'?");
  CHECK(did_you_mean("owner", kStepKeys).empty());
}
