#pragma once
// Internals of the expression language shared with the loader (not part of the public API).
#include <cstddef>
#include <string_view>
#include <vector>

namespace sagaflow::flow::detail {

// The 0-based offset of every path in a valid expression, in the order Expression::paths()
// returns them (textual order), so the loader can point at the exact column of a bad reference.
std::vector<std::size_t> path_offsets(std::string_view expression_text);

}  // namespace sagaflow::flow::detail
