#pragma once
// Checks a saga's start input against its flow's input contract: every problem at once, each
// naming its path (`input.guests[2].name`), what was expected and what came. Pure: no I/O.
#include <cstddef>
#include <string>
#include <vector>

#include "sagaflow/flow/flow.hpp"
#include "sagaflow/json.hpp"

namespace sagaflow::flow {

struct InputProblem {
  std::string path;     // `input`, `input.nights`, `input.guests[2].name`
  std::string message;  // the whole line, path first: `input.nights: expected an integer, ...`
};

struct InputCheck {
  // At most kMaxInputProblems, in a stable order: each object's declared fields in the
  // contract's order (an array's items in their order), then its unknown fields by name.
  std::vector<InputProblem> problems;
  std::size_t omitted = 0;  // problems found beyond the first kMaxInputProblems

  bool ok() const { return problems.empty(); }
  // Every listed problem joined by "; ", then "; and N more problems" when some were omitted.
  std::string summary() const;
};

inline constexpr std::size_t kMaxInputProblems = 20;
// A string value quoted in a message is cut to this many bytes (then `...`).
inline constexpr std::size_t kMaxQuotedInput = 40;

InputCheck check_input(const InputContract& contract, const json::value& input);

}  // namespace sagaflow::flow
