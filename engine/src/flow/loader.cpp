// The public entry points: size limits, YAML parsing, then reading and verifying the flow.
#include "sagaflow/flow/loader.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "flow_reader.hpp"
#include "flow_warnings.hpp"
#include "reporter.hpp"
#include "yaml_document.hpp"

namespace sagaflow::flow {

std::string Diagnostic::to_string() const {
  const std::string where =
      line <= 0 ? file : file + ":" + std::to_string(line) + ":" + std::to_string(column);
  if (severity == Severity::error) return where + ": error: " + message;
  return where + ": warning: " + message + " [" + code + "]" +
         (fix.empty() ? "" : "\n  fix: " + fix);
}

LoadResult load_flow_text(std::string_view text, const std::string& file_name,
                          const LoadLimits& limits) {
  detail::Reporter reporter(file_name, text);
  LoadResult result;
  if (auto stream = detail::parse_document(text, limits, reporter)) {
    detail::SourceIndex index;
    auto flow =
        std::make_shared<Flow>(detail::FlowReader(reporter, index).read(*stream->documents[0]));
    flow->file = file_name;
    if (!reporter.has_errors()) {
      detail::check_warnings(*flow, index, reporter);
      result.flow = std::move(flow);
    }
  }
  result.diagnostics = reporter.take();
  result.warnings = reporter.take_warnings();
  return result;
}

namespace {

LoadResult file_problem(const std::string& file, std::string message) {
  LoadResult result;
  result.diagnostics.push_back({file, 0, 0, std::move(message)});
  return result;
}

}  // namespace

LoadResult load_flow_file(const std::filesystem::path& path, const LoadLimits& limits) {
  const std::string name = path.string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return file_problem(name, error ? "cannot read the file: " + error.message()
                                    : "cannot read the file: not a regular file");
  }
  // Checked before reading, so that a huge file is refused without loading it.
  const auto size = std::filesystem::file_size(path, error);
  if (error) return file_problem(name, "cannot read the file: " + error.message());
  if (size > limits.max_bytes) {
    return file_problem(name, "the file is " + std::to_string(size) + " bytes, more than the " +
                                  std::to_string(limits.max_bytes) + " a flow file may have");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_problem(name, std::string("cannot read the file: ") + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) return file_problem(name, "cannot read the file: read error");
  return load_flow_text(content.str(), name, limits);
}

}  // namespace sagaflow::flow
