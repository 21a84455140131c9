#include "yaml_document.hpp"

#include <cstdio>
#include <set>
#include <string>

#include "sagaflow/text/utf8.hpp"

namespace sagaflow::flow::detail {
namespace {

constexpr std::string_view kFlowNeeds = "a flow needs at least name, version and steps";

// A flow file is UTF-8 text: the first byte that is not is refused where it is.
bool check_encoding(std::string_view text, Reporter& reporter) {
  if (const auto bad = text::first_invalid_utf8(text)) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[*bad]));
    reporter.error(reporter.source().pos_of(*bad),
                   std::string("the file is not valid UTF-8: byte ") + byte +
                       " here; a flow file must be UTF-8 text");
    return false;
  }
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    reporter.error(reporter.source().pos_of(nul),
                   "the file holds a NUL byte here; a flow file must be text");
    return false;
  }
  return true;
}

// Checks what the parser accepts but a flow does not: tags, keys that are not strings,
// duplicate keys. Each node is checked once, where it is written (not again through aliases).
void check_nodes(const YamlStream& stream, Reporter& reporter) {
  for (const auto& node : stream.nodes) {
    if (!node->tag().empty()) {
      reporter.error(node->pos(), "YAML tag '" + node->tag() +
                                      "' is not supported; quote a value to make it a string");
    }
    if (!node->is_map()) continue;
    std::set<std::string_view> keys;
    for (const auto& [key, value] : node->entries()) {
      if (!key->is_scalar()) {
        reporter.error(key->pos(), "map keys must be plain strings");
      } else if (!keys.insert(key->scalar()).second) {
        reporter.error(key->pos(), "duplicate key '" + key->scalar() + "'");
      }
    }
  }
}

// Outside the byte order mark, only spaces and line breaks: nothing at all was written.
bool is_blank(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// False when there is no flow to read.
bool check_documents(const YamlStream& stream, std::string_view text, Reporter& reporter) {
  const auto& documents = stream.documents;
  if (documents.empty()) {
    reporter.file_error(is_blank(text)
                            ? "the file is empty; " + std::string(kFlowNeeds)
                            : "the file holds only comments; " + std::string(kFlowNeeds));
    return false;
  }
  const bool first_empty = documents[0]->is_null();
  if (documents.size() > 1) {
    reporter.error(documents[1]->pos(),
                   first_empty ? "a flow file holds one YAML document; the first is empty and "
                                 "another starts here"
                               : "a flow file holds one YAML document; found another");
    return !first_empty;
  }
  if (first_empty) {
    reporter.error(documents[0]->pos(), "the YAML document is empty; " + std::string(kFlowNeeds));
    return false;
  }
  return true;
}

}  // namespace

std::optional<YamlStream> parse_document(std::string_view text, const LoadLimits& limits,
                                         Reporter& reporter) {
  if (text.size() > limits.max_bytes) {
    reporter.file_error("the file is " + std::to_string(text.size()) + " bytes, more than the " +
                        std::to_string(limits.max_bytes) + " a flow file may have");
    return std::nullopt;
  }
  if (!check_encoding(text, reporter)) return std::nullopt;
  YamlStream stream = parse_yaml(reporter.source(), limits);
  if (stream.error) {
    reporter.error(stream.error->pos, stream.error->message);
    return std::nullopt;
  }
  if (!check_documents(stream, text, reporter)) return std::nullopt;
  check_nodes(stream, reporter);
  return stream;
}

}  // namespace sagaflow::flow::detail
