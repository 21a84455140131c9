// `sagactl diagram FILE [--path happy|all|NAME] [--json]`: Mermaid sequence diagrams of a flow's
// happy path and failure paths, from the loaded and compiled flow (flow_diagram.hpp).
#include <memory>
#include <ostream>
#include <string>

#include <boost/json.hpp>

#include "args.hpp"
#include "command.hpp"
#include "flow_diagram.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

constexpr std::string_view kDiagramUsage =
    "usage: sagactl diagram FILE [--path happy|all|STEP] [--json]\n"
    "\n"
    "Draws a flow as Mermaid sequence diagrams: the happy path, and for every step that\n"
    "can fail before the pivot, what runs up to that failure and then the compensations in\n"
    "the order the engine runs them (latest completion first), then on_compensated.\n"
    "Steps past a pivot have no failure path: their failures are retried, then park.\n"
    "\n"
    "  --path happy|all|STEP  which path: the happy one, every path (default), or the\n"
    "                         failure of the step named STEP\n"
    "  --json                 print {\"paths\": [{\"name\", \"mermaid\"}]}\n"
    "\n"
    "Each diagram is printed after a '%% path: NAME' line, separated by blank lines.\n"
    "Exit status: 0 ok, 1 the flow file has errors (printed as by lint), 2 usage.\n";

}  // namespace

int run_diagram(std::span<const std::string_view> args, Context& ctx) {
  std::optional<std::string> path;
  bool json = false;
  ArgParser parser("diagram", kDiagramUsage);
  parser.value("--path", path).flag("--json", json);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no file given" : "give exactly one file");
  }
  const auto& file = parser.positional().front();
  const auto loaded = sagaflow::flow::load_flow_file(file);
  if (!loaded.ok()) {
    for (const auto& diagnostic : loaded.diagnostics) {
      ctx.err << sagaflow::text::printable(diagnostic.to_string()) << '\n';
    }
    return kExitFailure;
  }
  const sagaflow::Plan plan(loaded.flow);
  auto paths = diagram_paths(plan);
  const std::string wanted = path.value_or("all");
  if (wanted != "all") {
    std::erase_if(paths, [&](const DiagramPath& p) { return p.name != wanted; });
    if (paths.empty()) {
      std::string known;
      for (const auto& p : diagram_paths(plan)) known += " " + p.name;
      const int step = plan.find(wanted);
      return parser.usage_error(
          ctx, step < 0 ? "no path '" + wanted + "'; the paths are:" + known
                        : "step '" + wanted +
                              "' has no failure path (it cannot fail, or it is past the pivot, "
                              "where failures park); the paths are:" +
                              known);
    }
  }
  if (json) {
    boost::json::array out;
    for (const auto& p : paths) out.push_back({{"name", p.name}, {"mermaid", p.mermaid}});
    ctx.out << boost::json::serialize(boost::json::object{{"paths", std::move(out)}}) << '\n';
    return kExitOk;
  }
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (i > 0) ctx.out << '\n';
    ctx.out << "%% path: " << paths[i].name << '\n' << paths[i].mermaid;
  }
  return kExitOk;
}

}  // namespace sagactl
