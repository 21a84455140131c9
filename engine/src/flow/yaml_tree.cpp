#include "yaml_tree.hpp"

#include <yaml.h>

#include <algorithm>
#include <cstdio>
#include <map>

namespace sagaflow::flow::detail {
namespace {

// libyaml writes `!!str` as the core schema's full tag; messages show it as it was written.
constexpr std::string_view kCoreTagPrefix = "tag:yaml.org,2002:";

std::string_view view(const yaml_char_t* text) {
  return text == nullptr ? std::string_view() : reinterpret_cast<const char*>(text);
}

std::string tag_as_written(const yaml_char_t* tag) {
  const std::string_view text = view(tag);
  if (text.starts_with(kCoreTagPrefix))
    return "!!" + std::string(text.substr(kCoreTagPrefix.size()));
  return std::string(text);
}

SourcePos pos_of(const yaml_mark_t& mark) {
  return {static_cast<int>(mark.line) + 1, static_cast<int>(mark.column) + 1};
}

bool is_null_word(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// Owns libyaml's parser over the text.
class EventParser {
 public:
  explicit EventParser(std::string_view text) {
    ready_ = yaml_parser_initialize(&parser_) != 0;
    // No encoding is forced: libyaml then skips a UTF-8 byte order mark, and anything but
    // UTF-8 was already refused by the caller.
    if (ready_) {
      // libyaml asserts on a null pointer, which an empty string_view may hold.
      static constexpr unsigned char kNothing[1] = {0};
      const auto* input =
          text.empty() ? kNothing : reinterpret_cast<const unsigned char*>(text.data());
      yaml_parser_set_input_string(&parser_, input, text.size());
    }
  }
  ~EventParser() {
    if (ready_) yaml_parser_delete(&parser_);
  }
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  bool ready() const { return ready_; }
  bool next(yaml_event_t& event) { return yaml_parser_parse(&parser_, &event) != 0; }
  const yaml_parser_t& state() const { return parser_; }

 private:
  yaml_parser_t parser_{};
  bool ready_ = false;
};

// Frees one event's strings whatever happens while it is handled.
class Event {
 public:
  yaml_event_t* get() { return &event_; }
  const yaml_event_t& operator*() const { return event_; }
  ~Event() { yaml_event_delete(&event_); }

 private:
  yaml_event_t event_{};
};

}  // namespace

class YamlTreeBuilder {
 public:
  YamlTreeBuilder(const SourceLines& source, const LoadLimits& limits)
      : source_(source), limits_(limits) {}

  YamlStream run() {
    EventParser parser(source_.text());
    if (!parser.ready()) {
      fail({}, "the YAML parser could not start (out of memory)");
      return std::move(stream_);
    }
    for (bool more = true; more;) {
      Event event;
      if (!parser.next(*event.get())) {
        fail(syntax_error(parser.state()));
        break;
      }
      more = handle(*event);
    }
    return std::move(stream_);
  }

 private:
  // A collection being parsed.
  struct Open {
    YamlNode* node;
    std::size_t expanded_before;    // the document's node count when it started
    int child_height = 0;           // the tallest child's height so far
    const YamlNode* key = nullptr;  // in a map: the key whose value comes next
  };

  // False once parsing must stop: the stream ended, a limit was hit, or a second document began.
  bool handle(const yaml_event_t& event) {
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        return false;
      case YAML_DOCUMENT_START_EVENT:
        anchors_.clear();  // anchors belong to their document
        return true;
      case YAML_SCALAR_EVENT:
        return scalar(event);
      case YAML_SEQUENCE_START_EVENT:
        return start_collection(YamlNode::Kind::sequence, event, event.data.sequence_start.anchor,
                                event.data.sequence_start.tag);
      case YAML_MAPPING_START_EVENT:
        return start_collection(YamlNode::Kind::map, event, event.data.mapping_start.anchor,
                                event.data.mapping_start.tag);
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        end_collection();
        return true;
      case YAML_ALIAS_EVENT:
        return alias(event);
      default:
        return true;
    }
  }

  bool scalar(const yaml_event_t& event) {
    const auto& data = event.data.scalar;
    const std::string_view text(reinterpret_cast<const char*>(data.value), data.length);
    const bool plain = data.style == YAML_PLAIN_SCALAR_STYLE;
    const bool null = plain && data.tag == nullptr && is_null_word(text);
    YamlNode* node =
        create(null ? YamlNode::Kind::null : YamlNode::Kind::scalar, event, data.anchor, data.tag);
    if (node == nullptr) return false;
    if (!null) node->text_ = text;
    node->quoted_ = !plain;
    node->complete_ = true;
    return attach(*node, 0);
  }

  bool start_collection(YamlNode::Kind kind, const yaml_event_t& event, const yaml_char_t* anchor,
                        const yaml_char_t* tag) {
    const std::size_t before = expanded_;
    if (static_cast<int>(open_.size()) + 1 > limits_.max_depth) {
      return fail(pos_of(event.start_mark), too_deep(""));
    }
    YamlNode* node = create(kind, event, anchor, tag);
    if (node == nullptr || !attach(*node, 0)) return false;
    open_.push_back({node, before});
    return true;
  }

  void end_collection() {
    const Open done = open_.back();
    open_.pop_back();
    done.node->expanded_ = expanded_ - done.expanded_before;
    done.node->height_ = done.child_height + 1;
    done.node->complete_ = true;
    if (!open_.empty()) {
      open_.back().child_height = std::max(open_.back().child_height, done.node->height_);
    }
  }

  // An alias stands for the anchored node itself, so the tree stays as small as the text; what
  // it repeats is added to the node count and to the depth, as a walk through it would meet.
  bool alias(const yaml_event_t& event) {
    const SourcePos pos = pos_of(event.start_mark);
    const std::string name(view(event.data.alias.anchor));
    const auto found = anchors_.find(name);
    if (found == anchors_.end()) {
      return fail(pos, "alias '*" + name + "' refers to no anchor: '&" + name +
                           "' must come before it, in the same document");
    }
    const YamlNode& target = *found->second;
    if (!target.complete_) {
      return fail(pos, "alias '*" + name +
                           "' is inside the node it refers to; a recursive alias is not allowed");
    }
    expanded_ += target.expanded_;
    if (expanded_ > limits_.max_nodes) {
      return fail(pos, "through alias '*" + name + "' the document expands to more than " +
                           std::to_string(limits_.max_nodes) +
                           " YAML nodes (an alias repeats all it refers to); refusing it");
    }
    if (static_cast<int>(open_.size()) + target.height_ > limits_.max_depth) {
      return fail(pos, too_deep(" through alias '*" + name + "'"));
    }
    return attach(target, target.height_);
  }

  YamlNode* create(YamlNode::Kind kind, const yaml_event_t& event, const yaml_char_t* anchor,
                   const yaml_char_t* tag) {
    const SourcePos pos = pos_of(event.start_mark);
    if (++expanded_ > limits_.max_nodes) {
      fail(pos, "the file has more than " + std::to_string(limits_.max_nodes) +
                    " YAML nodes (keys, values and list items); refusing it");
      return nullptr;
    }
    auto& node = stream_.nodes.emplace_back(std::make_unique<YamlNode>());
    node->kind_ = kind;
    node->pos_ = pos;
    node->tag_ = tag_as_written(tag);
    node->expanded_ = 1;
    if (anchor != nullptr) anchors_[std::string(view(anchor))] = node.get();
    return node.get();
  }

  // Places a node in the collection being parsed, or makes it a document's root.
  bool attach(const YamlNode& node, int height) {
    if (open_.empty()) {
      stream_.documents.push_back(&node);
      return stream_.documents.size() < 2;
    }
    Open& parent = open_.back();
    parent.child_height = std::max(parent.child_height, height);
    if (parent.node->is_sequence()) {
      parent.node->elements_.push_back(&node);
    } else if (parent.key == nullptr) {
      parent.key = &node;
    } else {
      parent.node->entries_.push_back({parent.key, &node});
      parent.key = nullptr;
    }
    return true;
  }

  std::string too_deep(const std::string& how) const {
    return "nesting deeper than " + std::to_string(limits_.max_depth) + " levels" + how +
           "; refusing the document";
  }

  YamlError syntax_error(const yaml_parser_t& parser) const {
    const std::string problem(view(reinterpret_cast<const yaml_char_t*>(parser.problem)));
    switch (parser.error) {
      case YAML_MEMORY_ERROR:
        return {{}, "the YAML parser ran out of memory"};
      case YAML_READER_ERROR: {
        std::string message = "YAML syntax: " + problem;
        if (parser.problem_value != -1) {
          char code[16];
          std::snprintf(code, sizeof code, " (U+%04X)",
                        static_cast<unsigned>(parser.problem_value));
          message += code;
        }
        return {source_.pos_of(parser.problem_offset), message};
      }
      default:
        break;
    }
    const SourcePos pos = within_text(pos_of(parser.problem_mark));
    if (indents_with_tab(pos)) {
      return {pos, "YAML syntax: a tab indents this line; YAML indents with spaces only"};
    }
    std::string message = "YAML syntax: " + problem;
    if (parser.context != nullptr) {
      const std::string_view context_name(parser.context);
      message += " " + std::string(context_name);
      const SourcePos context = within_text(pos_of(parser.context_mark));
      if (context.line != pos.line || context.column != pos.column) {
        message += " that starts at " + format_pos(context);
      }
      if (context_name.find("block") != std::string_view::npos && context.line != pos.line &&
          context.column != pos.column) {
        message += "; check the indentation: this line starts at column " +
                   std::to_string(pos.column) + ", the block at column " +
                   std::to_string(context.column);
      }
    } else if (problem == "mapping values are not allowed in this context" &&
               continues_a_value(pos)) {
      message +=
          "; check the indentation: this key is indented deeper than the line before "
          "it, so it reads as more of that line's value";
    }
    return {pos, message};
  }

  // A `key:` alone at the start of its line that libyaml refuses was read as the continuation
  // of a plain value on the line before: the line is indented too deep.
  bool continues_a_value(SourcePos pos) const {
    const auto at = source_.offset_of(pos);
    const auto line_start = source_.offset_of({pos.line, 1});
    if (!at || !line_start || pos.line < 2) return false;
    const std::string_view before = source_.text().substr(*line_start, *at - *line_start);
    const std::size_t first = before.find_first_not_of(' ');
    if (first == std::string_view::npos || first == 0) return false;
    const std::string_view key = before.substr(first);
    return key.find_first_of(" :-{[\"'#") == std::string_view::npos;
  }

  // At the end of a text without a final line break, libyaml counts one line more.
  SourcePos within_text(SourcePos pos) const {
    const SourcePos end = source_.pos_of(source_.text().size());
    return pos.line > end.line ? end : pos;
  }

  // libyaml's messages for a tab in the indentation ("found character that cannot start any
  // token", "a tab character that violates indentation") do not say what to change.
  bool indents_with_tab(SourcePos pos) const {
    const auto at = source_.offset_of(pos);
    const auto line_start = source_.offset_of({pos.line, 1});
    if (!at || !line_start || source_.text()[*at] != '\t') return false;
    const std::string_view before = source_.text().substr(*line_start, *at - *line_start);
    return before.find_first_not_of(" \t") == std::string_view::npos;
  }

  bool fail(SourcePos pos, std::string message) { return fail({pos, std::move(message)}); }
  bool fail(YamlError error) {
    stream_.error = std::move(error);
    return false;
  }

  const SourceLines& source_;
  const LoadLimits& limits_;
  YamlStream stream_;
  std::vector<Open> open_;
  std::map<std::string, YamlNode*, std::less<>> anchors_;
  std::size_t expanded_ = 0;  // nodes a walk of the stream visits, each alias expanded
};

YamlStream parse_yaml(const SourceLines& source, const LoadLimits& limits) {
  return YamlTreeBuilder(source, limits).run();
}

}  // namespace sagaflow::flow::detail
