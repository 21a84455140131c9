// `sagactl show ID`: one saga, its step results and its history as a timeline
// (GET /api/sagas/{id}).
#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "admin.hpp"
#include "flow_diagram.hpp"
#include "output.hpp"
#include "sagaflow/text/printable.hpp"

namespace sagactl {
namespace {

const std::string kShowUsage = with_admin_options(
    "usage: sagactl show ID [OPTIONS]\n"
    "\n"
    "ID may be the beginning of a saga's id, when only one saga's id begins so (else the\n"
    "sagas it could be are listed, exit 2). Shows a saga: flow, status, key, times, each\n"
    "step's result, the effects left standing (a compensated or cancelled saga's\n"
    "irreversible steps, whose effects the compensation did not undo), then its history\n"
    "oldest first: commands sent, replies, events, timers, compensations and operator\n"
    "requests, each with its time and the time since the saga started. --json prints everything,\n"
    "including the saga's data and each message's payload.\n"
    "\n"
    "options:\n",
    "\n"
    "Exit status: 0 ok, 2 usage (or an ID that begins several sagas' ids), 3 no such saga,\n"
    "4 server unreachable or token refused.\n");

constexpr std::size_t kValueWidth = 100;

// A history record's detail in one line: its scalar fields as name=value, then the payload.
std::string detail_text(const boost::json::value& detail) {
  const auto* object = detail.if_object();
  if (object == nullptr) return detail.is_null() ? "" : json_text(detail, kValueWidth);
  std::string out;
  const boost::json::value* payload = nullptr;
  for (const auto& [name, value] : *object) {
    if (name == "message_id") continue;  // long and in --json
    if (name == "payload") {
      payload = &value;
      continue;
    }
    out += (out.empty() ? "" : " ") + std::string(name) + "=" + json_text(value, kValueWidth);
  }
  if (payload != nullptr) out += (out.empty() ? "" : " ") + json_text(*payload, kValueWidth);
  return out;
}

// An ambiguous prefix lists this many of its sagas, newest first.
constexpr std::size_t kCandidatesShown = 10;

// The sagas whose id starts with `prefix`: at most kCandidatesShown + 1 (one more says there are
// more). Empty when none does, or when the endpoint refuses `prefix` as one (a 400: it cannot
// begin an id); nullopt when the endpoint could not be asked (already printed).
std::optional<std::vector<boost::json::value>> sagas_starting_with(AdminClient& admin,
                                                                   const std::string& prefix) {
  auto reply = admin.call("GET", "/api/sagas?id_prefix=" + url_encode(prefix) +
                                     "&limit=" + std::to_string(kCandidatesShown + 1));
  if (!reply) return std::nullopt;
  std::vector<boost::json::value> out;
  if (!reply->ok()) return out;
  const auto* sagas = reply->json.as_object().if_contains("sagas");
  if (sagas == nullptr || !sagas->is_array()) return out;
  for (const auto& saga : sagas->get_array()) out.push_back(saga);
  return out;
}

}  // namespace

int run_show(std::span<const std::string_view> args, Context& ctx) {
  AdminOptions options;
  ArgParser parser("show", kShowUsage);
  options.add_to(parser);
  if (auto status = parser.parse(args, ctx)) return *status;
  if (parser.positional().size() != 1) {
    return parser.usage_error(
        ctx, parser.positional().empty() ? "no saga id given" : "give exactly one saga id");
  }
  const auto& id = parser.positional().front();
  auto admin = AdminClient::open(options, parser, ctx, "show");
  if (!admin) return kExitUsage;
  auto reply = admin->call("GET", "/api/sagas/" + url_encode(id));
  if (!reply) return kExitUnavailable;
  if (reply->status == 404) {
    // Not a whole id: the beginning of one (the demo and the dashboard print short ids)?
    auto matches = sagas_starting_with(*admin, id);
    if (!matches) return kExitUnavailable;
    if (matches->size() > 1) {
      ctx.err << admin->prefix() << "'" << sagaflow::text::printable(id) << "' is the beginning of "
              << (matches->size() > kCandidatesShown
                      ? "more than " + std::to_string(kCandidatesShown)
                      : std::to_string(matches->size()))
              << " sagas; give more of the id:\n";
      for (std::size_t i = 0; i < std::min(matches->size(), kCandidatesShown); ++i) {
        const auto& saga = (*matches)[i];
        ctx.err << "  " << field_text(saga, "id") << "  " << field_text(saga, "flow") << "  "
                << field_text(saga, "status") << "  " << field_text(saga, "created_at") << '\n';
      }
      return kExitUsage;
    }
    if (matches->size() == 1) {
      reply = admin->call("GET", "/api/sagas/" + url_encode(field_text(matches->front(), "id")));
      if (!reply) return kExitUnavailable;
    }
  }
  if (!reply->ok()) return admin->fail(*reply);
  if (admin->json()) {
    admin->print_body(*reply);
    return kExitOk;
  }
  const auto* object = reply->json.if_object();
  const auto* saga = object ? object->if_contains("saga") : nullptr;
  if (saga == nullptr || !saga->is_object()) {
    ctx.err << admin->prefix() << "bad answer from the admin endpoint: no \"saga\" object\n";
    return kExitUnavailable;
  }
  std::string flow = field_text(*saga, "flow");
  if (auto version = field_text(*saga, "flow_version"); version != "-") flow += " v" + version;
  std::vector<std::pair<std::string, std::string>> fields{
      {"saga", field_text(*saga, "id")},
      {"flow", flow},
      {"status", field_text(*saga, "status")},
      {"key", field_text(*saga, "key")},
      {"created", field_text(*saga, "created_at")},
      {"updated", field_text(*saga, "updated_at")},
      {"version", field_text(*saga, "version")}};
  // A delayed start (start_at) says when it starts, also after it has started.
  if (const auto* at = saga->get_object().if_contains("start_at"); at && at->is_string()) {
    fields.emplace(fields.begin() + 3, "start at", field_text(*saga, "start_at"));
  }
  ctx.out << format_fields(fields);

  // Sub-flows: the saga that started this one, and the child sagas this one started.
  if (const auto* parent = saga->get_object().if_contains("parent");
      parent != nullptr && parent->is_object()) {
    ctx.out << "\nparent:\n"
            << format_fields({{"  " + field_text(*parent, "step"), field_text(*parent, "id")}});
  }
  if (const auto* children = saga->get_object().if_contains("children");
      children != nullptr && children->is_array() && !children->get_array().empty()) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& child : children->get_array()) {
      fields.push_back({"  " + field_text(child, "step"), field_text(child, "id")});
    }
    ctx.out << "\nchildren:\n" << format_fields(fields);
  }

  if (const auto* steps = saga->get_object().if_contains("steps");
      steps != nullptr && steps->is_object() && !steps->get_object().empty()) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& [name, value] : steps->get_object()) {
      fields.push_back({"  " + std::string(name), json_text(value, kValueWidth)});
    }
    ctx.out << "\nsteps:\n" << format_fields(fields);
  }

  // An honest end: a compensated saga whose irreversible steps' effects still stand.
  if (const auto* effects = saga->get_object().if_contains("effects_left_standing");
      effects != nullptr && effects->is_array() && !effects->get_array().empty()) {
    std::vector<std::pair<std::string, std::string>> fields;
    for (const auto& effect : effects->get_array()) {
      fields.push_back({"  " + field_text(effect, "step"), field_text(effect, "reason")});
    }
    ctx.out << "\neffects left standing:\n" << format_fields(fields);
  }

  const auto* history = object->if_contains("history");
  if (history == nullptr || !history->is_array()) return kExitOk;
  ctx.out << "\nhistory:\n";
  if (history->get_array().empty()) {
    ctx.out << "  (empty)\n";
    return kExitOk;
  }
  std::optional<long long> start;
  std::vector<std::vector<std::string>> rows;
  for (const auto& record : history->get_array()) {
    const std::string at = field_text(record, "at");
    std::string since;
    if (auto ms = parse_time_ms(at)) {
      if (!start) start = *ms;
      since = *ms == *start  ? "+0ms"
              : *ms > *start ? "+" + format_duration(std::chrono::milliseconds(*ms - *start))
                             : "-" + format_duration(std::chrono::milliseconds(*start - *ms));
    }
    const auto* fields = record.if_object();
    const auto* detail = fields ? fields->if_contains("detail") : nullptr;
    rows.push_back({"  " + at, since, "v" + field_text(record, "version"),
                    field_text(record, "kind"),
                    field_text(record, "step") == "-" ? "" : field_text(record, "step"),
                    detail ? detail_text(*detail) : ""});
  }
  ctx.out << format_table({"  AT", "SINCE", "VER", "KIND", "STEP", "DETAIL"}, rows);
  return kExitOk;
}

}  // namespace sagactl
