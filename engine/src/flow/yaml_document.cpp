#include "yaml_document.hpp"

#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/depthguard.h>

namespace sagaflow::flow::detail {
namespace {

// Walks every node once per way it can be reached. yaml-cpp resolves an alias to the anchored
// node itself, so a "billion laughs" file is small in memory but exponential to walk: counting
// visits is what stops it, after at most `max_nodes` steps.
class StructureCheck {
 public:
  StructureCheck(const LoadLimits& limits, Reporter& reporter)
      : limits_(limits), reporter_(reporter) {}

  // False when the document must be refused as a whole.
  bool run(const YAML::Node& root) { return visit(root, 1); }

 private:
  bool visit(const YAML::Node& node, int depth) {
    if (++visited_ > limits_.max_nodes) {
      reporter_.file_error("the document expands to more than " +
                           std::to_string(limits_.max_nodes) +
                           " YAML nodes (repeated aliases?); refusing it");
      return false;
    }
    check_tag(node);
    if (!node.IsMap() && !node.IsSequence()) return true;
    // `depth` counts the collections enclosing this one, itself included.
    if (depth > limits_.max_depth) {
      reporter_.error(node.Mark(), "nesting deeper than " + std::to_string(limits_.max_depth) +
                                       " levels; refusing the document");
      return false;
    }
    if (node.IsMap()) return visit_map(node, depth);
    for (const auto& element : node) {
      if (!visit(element, depth + 1)) return false;
    }
    return true;
  }

  bool visit_map(const YAML::Node& map, int depth) {
    std::set<std::string> keys;
    for (const auto& entry : map) {
      const YAML::Node& key = entry.first;
      if (!key.IsScalar()) {
        reporter_.error(key.Mark(), "map keys must be plain strings");
      } else if (!keys.insert(key.Scalar()).second) {
        reporter_.error(key.Mark(), "duplicate key '" + key.Scalar() + "'");
      }
      if (!visit(key, depth + 1) || !visit(entry.second, depth + 1)) return false;
    }
    return true;
  }

  // "?" is an untagged node and "!" a quoted scalar; anything else was written explicitly.
  void check_tag(const YAML::Node& node) {
    const std::string& tag = node.Tag();
    if (tag.empty() || tag == "?" || tag == "!") return;
    reporter_.error(node.Mark(),
                    "YAML tag '" + tag + "' is not supported; quote a value to make it a string");
  }

  const LoadLimits& limits_;
  Reporter& reporter_;
  std::size_t visited_ = 0;
};

std::optional<std::vector<YAML::Node>> load_documents(std::string_view text,
                                                      const LoadLimits& limits,
                                                      Reporter& reporter) {
  try {
    return YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& error) {
    // yaml-cpp's own guard, far past our limit; its message ("bad file") says nothing useful.
    reporter.error(error.mark, "nesting deeper than " + std::to_string(limits.max_depth) +
                                   " levels; refusing the document");
  } catch (const YAML::Exception& error) {
    // yaml-cpp's what() repeats the position; its msg is the bare message.
    reporter.error(error.mark, "YAML syntax: " + error.msg);
  } catch (const std::exception& error) {
    reporter.file_error(std::string("cannot parse YAML: ") + error.what());
  }
  return std::nullopt;
}

}  // namespace

std::optional<YAML::Node> parse_document(std::string_view text, const LoadLimits& limits,
                                         Reporter& reporter) {
  if (text.size() > limits.max_bytes) {
    reporter.file_error("the file is " + std::to_string(text.size()) + " bytes, more than the " +
                        std::to_string(limits.max_bytes) + " a flow file may have");
    return std::nullopt;
  }
  auto documents = load_documents(text, limits, reporter);
  if (!documents) return std::nullopt;
  if (documents->empty() || (*documents)[0].IsNull()) {
    reporter.file_error("the file is empty; a flow needs at least name, version and steps");
    return std::nullopt;
  }
  if (documents->size() > 1) {
    reporter.error((*documents)[1].Mark(), "a flow file holds one YAML document; found another");
  }
  if (!StructureCheck(limits, reporter).run((*documents)[0])) return std::nullopt;
  return (*documents)[0];
}

}  // namespace sagaflow::flow::detail
