#pragma once
// A YAML stream as a small tree of our own, built from libyaml's event parser: maps, sequences,
// scalars and nulls, each with its position. yaml_tree.cpp is the only file that includes
// <yaml.h>; the rest of the loader reads these nodes.
//
// The loader's limits hold while parsing, not after: nesting is refused at the first collection
// too deep, the node count at the first node too many, and an alias adds what it repeats to
// that count. So time and memory stay proportional to the (already size-capped) input whatever
// it holds, and a "billion laughs" file is refused before anything walks it.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/flow/flow.hpp"
#include "sagaflow/flow/loader.hpp"
#include "source_lines.hpp"

namespace sagaflow::flow::detail {

class YamlNode {
 public:
  // `null` is an empty value or a plain, untagged `~`, `null`, `Null` or `NULL`.
  enum class Kind { null, scalar, sequence, map };
  struct Entry {
    const YamlNode* key;
    const YamlNode* value;
  };

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::null; }
  bool is_scalar() const { return kind_ == Kind::scalar; }
  bool is_sequence() const { return kind_ == Kind::sequence; }
  bool is_map() const { return kind_ == Kind::map; }

  // A scalar's value; empty for every other kind.
  const std::string& scalar() const { return text_; }
  // Written in quotes or as a block (`|`, `>`): a string, never a number, boolean or null.
  bool quoted() const { return quoted_; }
  // An explicit tag as written (`!!str`, `!local`, `!`); empty when there is none.
  const std::string& tag() const { return tag_; }
  SourcePos pos() const { return pos_; }

  std::size_t size() const { return is_map() ? entries_.size() : elements_.size(); }
  // A map's entries in file order; an alias among them is the node it refers to.
  const std::vector<Entry>& entries() const { return entries_; }
  // A sequence's elements; an alias among them is the node it refers to.
  const std::vector<const YamlNode*>& elements() const { return elements_; }

 private:
  friend class YamlTreeBuilder;

  Kind kind_ = Kind::null;
  bool quoted_ = false;
  bool complete_ = false;  // its end was parsed: an alias to it cannot be recursive
  SourcePos pos_;
  std::string text_;
  std::string tag_;
  std::vector<Entry> entries_;
  std::vector<const YamlNode*> elements_;
  std::size_t expanded_ = 0;  // nodes a walk through it visits, each alias expanded
  int height_ = 0;            // collections on its longest path down, itself included
};

struct YamlError {
  SourcePos pos;  // line 0 when the problem has no position
  std::string message;
};

struct YamlStream {
  std::vector<std::unique_ptr<YamlNode>> nodes;  // each node once: an alias adds none
  // Each document's root. A flow file holds one document, so parsing stops at the root of a
  // second one: there are never more than two.
  std::vector<const YamlNode*> documents;
  std::optional<YamlError> error;  // set when the stream is refused; the nodes are then partial
};

// Parses `source`, which must be valid UTF-8 without NUL bytes, within `limits`' depth and node
// count (its size is the caller's to check).
YamlStream parse_yaml(const SourceLines& source, const LoadLimits& limits);

}  // namespace sagaflow::flow::detail
