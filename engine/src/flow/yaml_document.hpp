#pragma once
// Turns flow text into one YAML document that is safe to walk: bad encoding, syntax errors,
// several documents, excessive nesting and alias bombs are reported here, before any flow
// logic runs.
#include <optional>
#include <string_view>

#include "reporter.hpp"
#include "yaml_tree.hpp"

namespace sagaflow::flow::detail {

// nullopt when there is nothing safe to read further (the problem is already reported).
// Otherwise the parsed stream, whose first document is the flow. Duplicate keys, complex keys,
// tags and a second document are reported but do not stop the caller from reading the rest.
std::optional<YamlStream> parse_document(std::string_view text, const LoadLimits& limits,
                                         Reporter& reporter);

}  // namespace sagaflow::flow::detail
