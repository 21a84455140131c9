#pragma once
// Where the parts of a valid flow that the model keeps without a position were written: what
// the lint's warnings point at (flow_warnings.hpp). Filled by the FlowReader as it reads.
#include <map>
#include <string>

#include "sagaflow/flow/flow.hpp"

namespace sagaflow::flow::detail {

struct SourceIndex {
  // Every path of a mapping or an expression, by address: a Path lives in its Mapping's or
  // Expression's shared tree, which copies and moves of the Flow keep in place.
  std::map<const Path*, SourcePos> paths;
  // step name -> output field -> the position of its key in `output:`.
  std::map<std::string, std::map<std::string, SourcePos>, std::less<>> output_fields;

  SourcePos path_pos(const Path* path, SourcePos fallback) const {
    auto found = paths.find(path);
    return found == paths.end() ? fallback : found->second;
  }
};

}  // namespace sagaflow::flow::detail
