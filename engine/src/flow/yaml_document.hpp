#pragma once
// Turns flow text into one YAML document that is safe to walk: syntax errors, several
// documents, excessive nesting and alias bombs are reported here, before any flow logic runs.
#include <optional>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "reporter.hpp"

namespace sagaflow::flow::detail {

// nullopt when there is nothing safe to read further (the problem is already reported).
// Otherwise the document's root; duplicate keys, complex keys and tags are reported but do not
// stop the caller from reading the rest of the file.
std::optional<YAML::Node> parse_document(std::string_view text, const LoadLimits& limits,
                                         Reporter& reporter);

}  // namespace sagaflow::flow::detail
