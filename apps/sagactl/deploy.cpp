// `sagactl deploy FILE`: deploys a flow file (POST /api/flows). The daemon verifies it as lint
// does; its diagnostics are printed as lint prints them.
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>

#include "admin.hpp"
#include "output.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

const std::string kDeployUsage = with_admin_options(
    "usage: sagactl deploy FILE [OPTIONS]\n"
    "\n"
    "Deploys a flow file to the daemon: verified there (problems are printed as\n"
    "FILE:line:col: error: message), stored, and used by new sagas at once; running\n"
    "sagas stay on their version. Deploying the same version and text again is a no-op;\n"
    "the same version with another text is refused: bump `version`.\n"
    "Warnings (as `sagactl lint` prints them) do not refuse the flow: they are printed to\n"
    "stderr and the flow is deployed. A service that no flow used before and that nothing\n"
    "consumes yet (a misspelled name?) is such a warning, printed without a position.\n"
    "\n"
    "options:\n",
    "\n"
    "Exit status: 0 deployed (or already), 1 refused (lint errors, version conflict, too\n"
    "large), 2 usage (or FILE unreadable), 4 server unreachable or token refused.\n");

// The diagnostics of a 422: error.details as a list, or as {"diagnostics": [...]}, or a
// top-level "diagnostics" list (the lint route's shape).
const boost::json::array* diagnostics_of(const boost::json::value& body) {
  const auto& object = body.get_object();
  auto as_list = [](const boost::json::value* v) -> const boost::json::array* {
    if (v == nullptr) return nullptr;
    if (v->is_array()) return &v->get_array();
    if (const auto* o = v->if_object()) {
      if (const auto* d = o->if_contains("diagnostics"); d && d->is_array()) {
        return &d->get_array();
      }
    }
    return nullptr;
  };
  if (const auto* error = object.if_contains("error"); error && error->is_object()) {
    if (const auto* list = as_list(error->get_object().if_contains("details"))) return list;
  }
  return as_list(object.if_contains("diagnostics"));
}

// The daemon deploys a flow with warnings and returns them: printed as lint prints them.
void print_warnings(const boost::json::value& body, const std::string& shown_file,
                    const std::string& prefix, Context& ctx) {
  const auto* warnings = body.is_object() ? body.get_object().if_contains("warnings") : nullptr;
  if (warnings == nullptr || !warnings->is_array()) return;
  for (const auto& w : warnings->get_array()) {
    const auto* line = w.is_object() ? w.get_object().if_contains("line") : nullptr;
    if (w.is_object() && (line == nullptr || (line->is_int64() && line->as_int64() == 0))) {
      // A warning of the deploy rather than of a place in the file (a service nobody serves).
      ctx.err << prefix << "warning: " << field_text(w, "message") << '\n';
      if (w.get_object().if_contains("fix") != nullptr) {
        ctx.err << "  fix: " << field_text(w, "fix") << '\n';
      }
      continue;
    }
    ctx.err << shown_file << ':' << field_text(w, "line") << ':' << field_text(w, "column")
            << ": warning: " << field_text(w, "message") << " [" << field_text(w, "code") << "]\n"
            << "  fix: " << field_text(w, "fix") << '\n';
  }
}

}  // namespace

int run_deploy(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  ArgParser parser("deploy", kDeployUsage);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no file given" : "give exactly one file");
  }
  const auto& file = parser.positional().front();
  std::ifstream in(file, std::ios::binary);
  if (!in) return parser.usage_error(ctx, "cannot read '" + file + "'");
  std::string text(std::istreambuf_iterator<char>(in), {});
  auto admin = AdminClient::open(options, parser, ctx, "deploy");
  if (!admin) return kExitUsage;
  auto reply = admin->call("POST", "/api/flows", std::move(text), "application/yaml");
  if (!reply) return kExitUnavailable;
  if (reply->status == 422) {
    if (admin->json()) admin->print_body(*reply);
    const auto* diagnostics = diagnostics_of(reply->json);
    if (diagnostics == nullptr || diagnostics->empty()) return admin->fail(*reply);
    const auto shown_file = sagaflow::text::printable(file);
    for (const auto& d : *diagnostics) {
      ctx.err << shown_file << ':' << field_text(d, "line") << ':' << field_text(d, "column")
              << ": error: " << field_text(d, "message") << '\n';
    }
    ctx.err << admin->prefix() << shown_file << ": refused, " << diagnostics->size()
            << (diagnostics->size() == 1 ? " error" : " errors") << '\n';
    return kExitFailure;
  }
  if (!reply->ok()) return admin->fail(*reply);
  print_warnings(reply->json, sagaflow::text::printable(file), admin->prefix(), ctx);
  if (admin->json()) {
    admin->print_body(*reply);
  } else {
    ctx.out << field_text(reply->json, "name") << " version " << field_text(reply->json, "version")
            << (reply->status == 201 ? ": deployed" : ": already deployed with this text") << '\n';
  }
  return kExitOk;
}

}  // namespace sagactl
