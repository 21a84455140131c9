#include "sagaflow/http/admin_api.hpp"

#include <algorithm>
#include <charconv>
#include <exception>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include "admin_events.hpp"
#include "forward.hpp"
#include "sagaflow/engine/effects.hpp"
#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/engine/saga.hpp"
#include "sagaflow/engine/schedule.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/flow/subflows.hpp"
#include "sagaflow/http/contract_json.hpp"
#include "sagaflow/http/dashboard.hpp"
#include "sagaflow/http/log.hpp"
#include "sagaflow/http/prometheus.hpp"
#include "sagaflow/http/saga_json.hpp"
#include "sagaflow/http/wire.hpp"
#include "sagaflow/text/printable.hpp"
#include "sagaflow/text/utf8.hpp"

namespace sagaflow::http {
namespace {

using beast_http::status;
using beast_http::verb;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kServer = "sagaflow";
constexpr std::string_view kSagas = "/api/sagas";
constexpr std::string_view kSchedules = "/api/schedules";
constexpr std::string_view kFlows = "/api/flows";
constexpr std::size_t kDefaultPage = 50;
constexpr std::size_t kMaxPage = 500;
constexpr std::size_t kDefaultBulk = 100;
constexpr std::size_t kMaxBulk = 1000;
constexpr std::size_t kMaxIdPrefix = 128;

std::string_view error_code_of(status s) {
  switch (s) {
    case status::bad_request:
      return "bad_request";
    case status::unauthorized:
      return "unauthorized";
    case status::not_found:
      return "not_found";
    case status::method_not_allowed:
      return "method_not_allowed";
    case status::conflict:
      return "conflict";
    case status::payload_too_large:
      return "too_large";
    case status::unprocessable_entity:
      return "invalid";
    default:
      return "unavailable";
  }
}

// What an answer needs from its request, copied so that a Pending outlives the request.
struct Reply {
  unsigned version = 11;
  bool keep_alive = true;

  Response json(status s, const json::value& body) const {
    Response res{s, version};
    res.set(beast_http::field::server, kServer);
    res.set(beast_http::field::content_type, "application/json");
    res.set(beast_http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = json::serialize(body);
    if (text::first_invalid_utf8(res.body())) {
      // Text stored before UTF-8 was checked, say: sent escaped rather than as broken JSON.
      auto safe = body;
      make_printable(safe, Strings::malformed);
      res.body() = json::serialize(safe);
    }
    res.prepare_payload();
    return res;
  }

  // `message` may quote the request: escaped for the terminal that prints it.
  Response error(status s, std::string_view message, json::value details = nullptr) const {
    json::object e{{"code", error_code_of(s)}, {"message", text::printable(message)}};
    if (!details.is_null()) e["details"] = std::move(details);
    return json(s, json::object{{"error", std::move(e)}});
  }
};

// A request's fault, answered with its status: thrown by the parsers below.
struct BadRequest {
  status code;
  std::string message;
  json::value details = nullptr;
};

[[noreturn]] void bad(std::string message) {
  throw BadRequest{status::bad_request, std::move(message)};
}

// ---------------------------------------------------------------------------------------------
// Reading JSON bodies

json::object parse_object(std::string_view body, bool empty_is_object) {
  if (body.empty() && empty_is_object) return {};
  if (const auto at = text::first_invalid_utf8(body)) {
    throw BadRequest{status::bad_request,
                     "the body is not valid UTF-8: the byte at offset " + std::to_string(*at) +
                         " does not start a well-formed sequence",
                     json::object{{"offset", *at}}};
  }
  boost::system::error_code ec;
  auto value = json::parse(body, ec);
  if (ec) bad("the body is not JSON: " + ec.message());
  if (!value.is_object()) bad("the body must be a JSON object");
  return std::move(value.as_object());
}

void only_keys(const json::object& o, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : o) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      bad("unknown field '" + std::string(key) + "'");
    }
  }
}

std::string string_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) bad(std::string(key) + " must be a string");
  return std::string(v->get_string());
}

std::optional<std::int64_t> integer_field(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  bad(std::string(key) + " must be an integer");
}

std::optional<Timestamp> time_value(std::string_view key, std::string_view text) {
  if (text.empty()) return std::nullopt;
  auto t = parse_time(text);
  if (!t) bad(std::string(key) + " must be an RFC 3339 time, e.g. 2026-11-23T10:00:00.000Z");
  return t;
}

// A query parameter that must be an integer from 1 to `max`; `fallback` when absent.
std::size_t count_value(std::string_view key, std::string_view text, std::size_t fallback,
                        std::size_t max) {
  if (text.empty()) return fallback;
  std::size_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9' || n > max) n = max + 1;
    if (n > max) break;
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  if (n < 1 || n > max) {
    bad(std::string(key) + " must be an integer from 1 to " + std::to_string(max));
  }
  return n;
}

// "a,b,,c" -> {a, b, c}
std::set<std::string, std::less<>> list_value(std::string_view text) {
  std::set<std::string, std::less<>> values;
  while (!text.empty()) {
    const auto comma = text.find(',');
    if (comma != 0) values.emplace(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return values;
}

constexpr std::string_view kStatuses =
    "pending, running, waiting, compensating, completed, compensated, failed, cancelled, paused";

void check_status(std::string_view key, std::string_view status) {
  if (!status_from_string(status))
    bad(std::string(key) + " must be one of " + std::string(kStatuses));
}

// ---------------------------------------------------------------------------------------------
// Writing sagas

// Who an operator's repair names as its actor (docs/admin-api.md): the header as sent, at most
// kMaxActorBytes of printable UTF-8; "" when absent.
constexpr std::string_view kActorHeader = "X-Sagaflow-Actor";
constexpr std::size_t kMaxActorBytes = 200;

std::string actor_header(std::string_view value) {
  if (value.size() > kMaxActorBytes) {
    bad(std::string(kActorHeader) + " must be at most " + std::to_string(kMaxActorBytes) +
        " bytes");
  }
  const bool control = std::any_of(value.begin(), value.end(), [](char ch) {
    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f;
  });
  if (control || text::first_invalid_utf8(value)) {
    bad(std::string(kActorHeader) + " must be printable UTF-8");
  }
  return std::string(value);
}

bool may_still_progress(std::string_view status) {
  auto s = status_from_string(status);
  return s && (*s == Status::pending || *s == Status::running || *s == Status::waiting);
}

const std::string& saga_id_of(const SagaRow& row) {
  return row.id;
}
const std::string& saga_id_of(const SagaChange& change) {
  return change.saga_id;
}

bool settled(std::string_view status) {
  auto s = status_from_string(status);
  return s && (is_final(*s) || *s == Status::failed);
}

// 422 with one detail per problem of the input contract, each with its path.
Response input_refused(const Reply& reply, const InvalidInput& refused) {
  if (refused.problems().empty()) {
    return reply.error(status::unprocessable_entity, refused.what(),
                       json::array{json::object{{"message", text::printable(refused.what())}}});
  }
  json::array details;
  for (const auto& problem : refused.problems()) {
    details.push_back(json::object{{"path", problem.path}, {"message", problem.message}});
  }
  const auto found = refused.problems().size() + refused.omitted();
  std::string message =
      "the input does not satisfy the flow's input contract: " + std::to_string(found) +
      (found == 1 ? " problem" : " problems");
  if (refused.omitted() > 0) {
    message += ", the first " + std::to_string(refused.problems().size()) + " listed";
  }
  return reply.error(status::unprocessable_entity, message, std::move(details));
}

// Maps what an orchestrator request failed with to its answer.
Response request_failed(const Reply& reply, std::exception_ptr error, std::string_view what) {
  try {
    std::rethrow_exception(error);
  } catch (const NotOwner&) {
    throw;  // another orchestrator's saga: AdminApi::forwarding_not_owner sends the request there
  } catch (const InvalidSkip& e) {
    json::array details;
    for (const auto& problem : e.problems()) {
      details.push_back(json::object{{"path", problem.path}, {"message", problem.message}});
    }
    return reply.error(status::unprocessable_entity, e.what(), std::move(details));
  } catch (const InvalidInput& e) {
    return input_refused(reply, e);
  } catch (const Refused& e) {
    return reply.error(status::conflict, e.what());
  } catch (const std::invalid_argument& e) {
    return reply.error(status::not_found, e.what());
  } catch (const std::exception& e) {
    log::warn("orchestrator request failed", {{"request", what}, {"error", e.what()}});
    return reply.error(status::service_unavailable,
                       std::string(what) + " was not committed: " + e.what());
  }
}

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// The orchestrator's commit publishes the saga's change after it answers the request: a poll
// woken by it finds the answer.
Pending woken_by_changes(Pending pending, SagaChangeFeed* feed) {
  if (feed) {
    pending.woken_by([feed](std::function<void()> wake) { return feed->watch(std::move(wake)); });
  }
  return pending;
}

std::string not_committed(std::string_view what, std::chrono::milliseconds timeout) {
  return std::string(what) + " was not committed within " + std::to_string(timeout.count()) +
         " ms; it may still be";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct AdminApi::Context {
  const Request& request;
  Reply reply;
  std::string_view path;
  std::string_view query;

  // Parameters of the query string; 400 when it cannot be read or names an unknown one.
  std::map<std::string, std::string, std::less<>> params(
      std::initializer_list<std::string_view> allowed) const {
    auto parsed = parse_query(query);
    if (!parsed) bad("the query string cannot be read");
    for (const auto& [name, value] : *parsed) {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        bad("unknown parameter '" + name + "'");
      }
    }
    return std::move(*parsed);
  }
};

Response error_response(beast_http::status s, std::string_view code, std::string_view message,
                        unsigned version, bool keep_alive) {
  Reply reply{version, keep_alive};
  return reply.json(
      s,
      json::object{{"error", json::object{{"code", code}, {"message", text::printable(message)}}}});
}

AdminApi::AdminApi(AdminBackend& backend, AdminOptions options, PrometheusMetrics* metrics)
    : backend_(backend),
      options_(std::move(options)),
      metrics_(metrics),
      checker_(options_.flow_checks),
      open_streams_(std::make_shared<std::atomic<std::size_t>>(0)),
      random_(std::random_device{}()) {}

// ---------------------------------------------------------------------------------------------
// Routing

namespace {

// The audit log (docs/admin-api.md#audit): every request that may change something, recorded
// here once for every route, present and future, with its answer. Starts and outside events
// are the applications' traffic, not operators' actions; lint changes nothing. A request
// forwarded here by another orchestrator is recorded there, with the answer it gets from here:
// one action, one entry.
bool audited(const Request& request, std::string_view path) {
  if (!request[kForwardedHeader].empty()) return false;
  const auto method = request.method();
  if (method != verb::post && method != verb::put && method != verb::patch &&
      method != verb::delete_) {
    return false;
  }
  return path.starts_with("/api/") && path != kSagas && path != "/api/events" &&
         path != "/api/flows/lint";
}

// A header's text as the audit keeps it: printable, at most `max` bytes.
std::string header_text(const Request& request, std::string_view name, std::size_t max) {
  auto it = request.find(name);
  if (it == request.end()) return {};
  return text::printable(std::string_view(it->value()).substr(0, max));
}

constexpr std::size_t kAuditBodyMax = 4096;

std::string cut(std::string_view text, std::size_t max) {
  return std::string(text.substr(0, max));
}

}  // namespace

void AdminApi::record_audit(AuditEntry entry, const Response& response) {
  // A request without the token did nothing; it is not an operator's action.
  if (response.result() == status::unauthorized) return;
  entry.at =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  entry.result_status = static_cast<int>(response.result_int());
  entry.result = cut(response.body(), kAuditBodyMax);
  try {
    backend_.append_audit(entry);
  } catch (const NotServing&) {
    // No audit log in this process (a test's backend, or not serving yet).
  } catch (const std::exception& e) {
    log::error("audit entry not recorded", {{"action", entry.action}, {"error", e.what()}});
  }
}

Outcome AdminApi::handle_request(const Request& request) {
  auto outcome = answer(request);
  std::string_view target = request.target();
  const auto path = target.substr(0, target.find('?'));
  if (!audited(request, path)) return outcome;
  AuditEntry entry;
  entry.actor = header_text(request, "X-Sagaflow-Actor", 200);
  if (entry.actor.empty()) entry.actor = "anonymous";
  entry.action = std::string(request.method_string()) + " " + text::printable(cut(target, 1000));
  entry.reason = header_text(request, "X-Sagaflow-Reason", 1000);
  if (entry.reason.empty()) {
    boost::system::error_code ec;
    auto body = json::parse(request.body(), ec);
    const auto* reason =
        !ec && body.is_object() ? body.get_object().if_contains("reason") : nullptr;
    if (reason && reason->is_string()) entry.reason = text::printable(reason->get_string());
  }
  entry.request = cut(request.body(), kAuditBodyMax);
  if (auto* response = std::get_if<Response>(&outcome)) {
    record_audit(std::move(entry), *response);
    return outcome;
  }
  auto* pending = std::get_if<Pending>(&outcome);
  if (pending == nullptr) return outcome;
  auto inner = std::make_shared<Pending>(std::move(*pending));
  auto shared = std::make_shared<AuditEntry>(std::move(entry));
  Pending wrapped(
      [this, inner, shared]() -> std::optional<Response> {
        auto response = inner->poll();
        if (response) record_audit(*shared, *response);
        return response;
      },
      [this, inner, shared]() {
        auto response = inner->expire();
        record_audit(*shared, response);
        return response;
      },
      inner->timeout());
  if (inner->wake_on()) wrapped.woken_by(inner->wake_on());
  return wrapped;
}

Outcome AdminApi::answer(const Request& request) {
  std::string_view target = request.target();
  const auto question = target.find('?');
  Context c{request, Reply{request.version(), request.keep_alive()}, target.substr(0, question),
            question == std::string_view::npos ? std::string_view{} : target.substr(question + 1)};
  try {
    return forwarding_not_owner(request, route(c));
  } catch (const NotOwner& e) {
    return forward_to_owner(request, e, options_.forward_timeout);
  } catch (const BadRequest& e) {
    return c.reply.error(e.code, e.message, e.details);
  } catch (const NotServing& e) {
    return c.reply.error(status::service_unavailable, e.what());
  } catch (const std::exception& e) {
    // The store (or something under it) failed: the request may be asked again.
    log::error("admin request failed", {{"path", c.path}, {"error", e.what()}});
    return c.reply.error(status::service_unavailable, "the store did not answer; try again");
  }
}

// ---------------------------------------------------------------------------------------------
// Any orchestrator answers: a request refused with NotOwner goes on to the saga's owner.

Outcome AdminApi::forwarding_not_owner(const Request& request, Outcome outcome) {
  auto* pending = std::get_if<Pending>(&outcome);
  if (pending == nullptr) return outcome;
  // The wrapper keeps the original's time: a refusal comes at the orchestrator's next round,
  // and the forward has what is left of it (the owner answers within its own commit time).
  struct State {
    Pending original;
    std::optional<Pending> forwarded;
  };
  const auto timeout = pending->timeout();
  const auto deadline = Clock::now() + timeout;
  auto state = std::make_shared<State>(State{std::move(*pending), std::nullopt});
  auto copy = std::make_shared<Request>(request);
  auto poll = [this, state, copy, deadline]() -> std::optional<Response> {
    if (state->forwarded) return state->forwarded->poll();
    try {
      return state->original.poll();
    } catch (const NotOwner& refusal) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      auto forwarded =
          forward_to_owner(*copy, refusal, std::max(left, std::chrono::milliseconds(1)));
      if (auto* response = std::get_if<Response>(&forwarded)) return std::move(*response);
      state->forwarded.emplace(std::move(std::get<Pending>(forwarded)));
      return state->forwarded->poll();
    }
  };
  auto expire = [state]() -> Response {
    return state->forwarded ? state->forwarded->expire() : state->original.expire();
  };
  Pending wrapped(std::move(poll), std::move(expire), timeout);
  if (state->original.wake_on()) wrapped.woken_by(state->original.wake_on());
  return wrapped;
}

Outcome AdminApi::forward_to_owner(const Request& request, const NotOwner& refusal,
                                   std::chrono::milliseconds budget) {
  const Reply reply{request.version(), request.keep_alive()};
  if (refusal.partition < 0) return reply.error(status::service_unavailable, refusal.what());
  const std::string partition = std::to_string(refusal.partition);
  json::object details{{"partition", refusal.partition}};
  if (!request[kForwardedHeader].empty()) {
    // Sent here as the owner, but the lease moved meanwhile: no second hop (no loop).
    details["reason"] = "forwarded_to_non_owner";
    return reply.error(status::service_unavailable,
                       "this request was forwarded here as to the owner of partition " + partition +
                           ", which this orchestrator does not own (any more); ask again",
                       std::move(details));
  }
  std::optional<PartitionOwner> owner;
  try {
    owner = backend_.owner_of(refusal.partition);
  } catch (const std::exception& e) {
    log::warn("cannot look up a partition's owner",
              {{"partition", refusal.partition}, {"error", e.what()}});
    details["reason"] = "owner_unknown";
    return reply.error(status::service_unavailable,
                       "the owner of partition " + partition + " cannot be looked up; try again",
                       std::move(details));
  }
  if (!owner) {
    details["reason"] = "owner_gone";
    return reply.error(status::service_unavailable,
                       std::string(refusal.what()) + ", and partition " + partition +
                           " has no live owner now (its orchestrator is gone); ask again once "
                           "another orchestrator has taken it over",
                       std::move(details));
  }
  details["owner"] = owner->owner;
  if (owner->admin_url.empty()) {
    details["reason"] = "owner_without_url";
    return reply.error(status::service_unavailable,
                       "the owner " + owner->owner + " of partition " + partition +
                           " advertises no admin URL; ask it directly",
                       std::move(details));
  }
  details["admin_url"] = owner->admin_url;
  // On a thread of its own: the endpoint's threads never wait on another process.
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = std::make_shared<std::future<Response>>(promise->get_future());
  const auto limit = std::min(budget, options_.forward_timeout);
  std::thread([promise, request, url = owner->admin_url, limit] {
    try {
      promise->set_value(forward_request(request, url, limit));
    } catch (...) {
      promise->set_exception(std::current_exception());
    }
  }).detach();
  const auto name = owner->owner;
  const auto url = owner->admin_url;
  auto poll = [future, reply, details, name, url, partition]() -> std::optional<Response> {
    if (!ready(*future)) return std::nullopt;
    try {
      auto answer = future->get();
      answer.version(reply.version);
      answer.keep_alive(reply.keep_alive);
      answer.set(kAnsweredByHeader, name);
      answer.prepare_payload();
      return answer;
    } catch (const std::exception& e) {
      auto d = details;
      d["reason"] = "owner_unreachable";
      return reply.error(status::service_unavailable,
                         "the owner " + name + " of partition " + partition + " at " + url +
                             " does not answer (" + e.what() + "); ask again",
                         std::move(d));
    }
  };
  auto expire = [reply, details, name, url, limit]() -> Response {
    auto d = details;
    d["reason"] = "owner_unreachable";
    return reply.error(status::service_unavailable,
                       "the owner " + name + " at " + url + " did not answer within " +
                           std::to_string(limit.count()) + " ms; it may still act on the request",
                       std::move(d));
  };
  return Pending(std::move(poll), std::move(expire), limit);
}

Outcome AdminApi::route(Context& c) {
  const auto method = c.request.method();
  const auto& path = c.path;
  auto allow = [&](std::string_view allowed) -> Response {
    auto res = c.reply.error(status::method_not_allowed,
                             std::string(c.request.method_string()) + " is not allowed on " +
                                 std::string(path) + " (allowed: " + std::string(allowed) + ")");
    res.set(beast_http::field::allow, allowed);
    return res;
  };

  if (path == "/healthz") {
    if (method != verb::get) return allow("GET");
    return c.reply.json(status::ok, json::object{{"status", "ok"}});
  }
  if (path == "/readyz") {
    if (method != verb::get) return allow("GET");
    return readyz(c);
  }
  // The dashboard's pages and files hold no data: no token; their scripts send it to /api.
  if (auto page = dashboard_response(c.request, path)) return std::move(*page);

  if (!options_.token.empty()) {
    std::string_view auth = c.request[beast_http::field::authorization];
    constexpr std::string_view kBearer = "bearer ";
    const bool bearer = auth.size() > kBearer.size() &&
                        boost::beast::iequals(auth.substr(0, kBearer.size()), kBearer);
    if (!bearer || !constant_time_equals(auth.substr(kBearer.size()), options_.token)) {
      auto res = c.reply.error(status::unauthorized,
                               bearer ? "the bearer token is not the admin token"
                                      : "this route needs Authorization: Bearer <admin token>");
      res.set(beast_http::field::www_authenticate, "Bearer realm=\"sagaflow\"");
      return res;
    }
  }

  if (path == "/metrics") {
    if (method != verb::get) return allow("GET");
    return metrics(c);
  }
  if (path == "/api/purge") {
    if (method != verb::post) return allow("POST");
    return purge(c);
  }
  if (path == "/api/services") {
    if (method != verb::get) return allow("GET");
    return services(c);
  }
  if (path == "/api/counts") {
    if (method != verb::get) return allow("GET");
    return counts(c);
  }
  if (path == kSagas) {
    if (method == verb::get) return list(c);
    if (method == verb::post) return start(c);
    return allow("GET, POST");
  }
  if (path == "/api/sagas/events") {
    if (method != verb::get) return allow("GET");
    return events(c);
  }
  if (path == "/api/sagas/retry" || path == "/api/sagas/cancel" || path == "/api/sagas/pause" ||
      path == "/api/sagas/resume") {
    if (method != verb::post) return allow("POST");
    return bulk_action(c, path.substr(kSagas.size() + 1));
  }
  if (path == "/api/audit") {
    if (method != verb::get) return allow("GET");
    return audit(c);
  }
  if (path.starts_with(kSagas) && path[kSagas.size()] == '/') {
    auto rest = path.substr(kSagas.size() + 1);
    const auto slash = rest.find('/');
    auto id = percent_decode(rest.substr(0, slash), false);
    if (id && !id->empty()) {
      if (slash == std::string_view::npos) {
        if (method != verb::get) return allow("GET");
        return show(c, *id);
      }
      auto action = rest.substr(slash + 1);
      if (action == "retry" || action == "cancel" || action == "pause" || action == "resume") {
        if (method != verb::post) return allow("POST");
        return operator_request(c, *id, action);
      }
      if (action == "skip" || action == "edit") {
        if (method != verb::post) return allow("POST");
        return repair(c, *id, action);
      }
    }
  }
  if (path == "/api/events") {
    if (method != verb::post) return allow("POST");
    return send_event(c);
  }
  if (path == kSchedules) {
    if (method != verb::get) return allow("GET");
    return schedules(c, {}, {});
  }
  if (path.starts_with(kSchedules) && path[kSchedules.size()] == '/') {
    auto rest = path.substr(kSchedules.size() + 1);
    const auto slash = rest.find('/');
    auto name = percent_decode(rest.substr(0, slash), false);
    const auto action = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (name && !name->empty()) {
      if (action.empty()) {
        if (method != verb::get && method != verb::put && method != verb::delete_) {
          return allow("GET, PUT, DELETE");
        }
        return schedules(c, *name, {});
      }
      if (action == "pause" || action == "resume") {
        if (method != verb::post) return allow("POST");
        return schedules(c, *name, action);
      }
    }
  }
  if (path == kFlows) {
    if (method == verb::get) return flows(c);
    if (method == verb::post) return deploy(c);
    return allow("GET, POST");
  }
  if (path == "/api/flows/lint") {
    if (method != verb::post) return allow("POST");
    return lint(c);
  }
  if (path.starts_with(kFlows) && path[kFlows.size()] == '/' &&
      (path.ends_with("/pause") || path.ends_with("/resume"))) {
    const bool pause = path.ends_with("/pause");
    auto rest = path.substr(kFlows.size() + 1);
    const auto slash = rest.rfind('/');
    auto name = slash == std::string_view::npos ? std::nullopt
                                                : percent_decode(rest.substr(0, slash), false);
    if (name && !name->empty() && name->find('/') == std::string::npos) {
      if (method != verb::post) return allow("POST");
      return flow_pause(c, *name, pause);
    }
  }
  if (path.starts_with(kFlows) && path[kFlows.size()] == '/') {
    auto name = percent_decode(path.substr(kFlows.size() + 1), false);
    if (name && !name->empty() && name->find('/') == std::string::npos) {
      if (method != verb::get) return allow("GET");
      return flow(c, *name);
    }
  }
  return c.reply.error(status::not_found, "no route for " + std::string(path));
}

// ---------------------------------------------------------------------------------------------
// Sagas

Outcome AdminApi::start(Context& c) {
  auto body = parse_object(c.request.body(), false);
  only_keys(body,
            {"flow", "input", "idempotency_key", "version", "wait", "timeout_ms", "start_at"});
  StartRequest request;
  request.flow = string_field(body, "flow");
  if (request.flow.empty()) bad("flow is required");
  const auto version = integer_field(body, "version").value_or(0);
  if (version < 0 || version > INT32_MAX) bad("version must be 0 (the latest) or a version");
  request.version = static_cast<int>(version);
  if (const auto* input = body.if_contains("input")) request.input = *input;
  if (request.input.is_null()) request.input = json::object{};
  request.idempotency_key = string_field(body, "idempotency_key");
  if (const auto* at = body.if_contains("start_at"); at && !at->is_null()) {
    auto when = at->is_string() ? parse_time(at->get_string()) : std::nullopt;
    if (!when) bad("start_at must be an RFC 3339 time, e.g. 2026-12-24T18:00:00Z");
    request.start_at = *when;
  }

  // What to wait for: nothing, a step, or the end.
  enum class Wait { none, step, end } wait = Wait::none;
  std::string wait_step;
  if (const auto* w = body.if_contains("wait"); w && !w->is_null()) {
    if (!w->is_object()) bad(R"(wait must be {"step": NAME} or {"end": true})");
    const auto& o = w->get_object();
    only_keys(o, {"step", "end"});
    wait_step = string_field(o, "step");
    const auto* end = o.if_contains("end");
    if (end && !end->is_bool()) bad("wait.end must be true");
    const bool to_end = end && end->get_bool();
    if (to_end == !wait_step.empty()) bad(R"(wait must be {"step": NAME} or {"end": true})");
    wait = to_end ? Wait::end : Wait::step;
  }
  auto timeout = options_.default_wait;
  if (auto ms = integer_field(body, "timeout_ms")) {
    if (*ms < 1) bad("timeout_ms must be a positive number of milliseconds");
    timeout = std::min(options_.max_wait, std::chrono::milliseconds(*ms));
  }

  auto plan = backend_.flows().find(request.flow, request.version);
  if (!plan) {
    return c.reply.error(
        status::not_found,
        "unknown flow " + request.flow +
            (request.version ? " version " + std::to_string(request.version) : ""));
  }
  if (wait == Wait::step && plan->find(wait_step) < 0) {
    bad("flow " + request.flow + " version " + std::to_string(plan->flow().version) +
        " has no step '" + wait_step + "'");
  }
  std::string_view trace = c.request["traceparent"];
  request.traceparent = valid_traceparent(trace) ? std::string(trace) : new_traceparent();

  struct State {
    std::future<StartResult> started;
    std::optional<StartResult> result;
    std::uint64_t seen_version = 0;
    std::uint64_t seen_change = 0;  // the feed's id up to which the saga's changes were looked at
    bool looked = false;            // the store was read once since the start was committed
  };
  auto state = std::make_shared<State>();
  auto* feed = backend_.changes();
  // Taken before the start is asked for: its own commit is among the changes after it.
  if (feed) state->seen_change = feed->last_id();
  state->started = backend_.start(std::move(request));
  const auto reply = c.reply;
  auto& backend = backend_;
  const char* waited = wait == Wait::step ? "step" : wait == Wait::end ? "end" : nullptr;

  // The saga's id and status as a row of the store or a change of the feed has them.
  auto answer = [reply, state](status s, const auto& saga, const char* waited, json::value result) {
    return reply.json(s, json::object{{"id", saga_id_of(saga)},
                                      {"created", state->result->created},
                                      {"status", saga.status},
                                      {"waited", waited ? json::value(waited) : nullptr},
                                      {"result", std::move(result)}});
  };
  const auto done = [state] { return state->result->created ? status::created : status::ok; };

  auto poll = [=, &backend]() -> std::optional<Response> {
    if (!state->result) {
      if (!ready(state->started)) return std::nullopt;
      try {
        state->result = state->started.get();
      } catch (...) {
        return request_failed(reply, std::current_exception(), "the start");
      }
    }
    // With the feed, the store is read only when the saga's changes say the answer may be
    // there (and once for a saga an idempotency key found, which may never change again).
    if (feed && (state->looked || state->result->created)) {
      ChangeFilter mine;
      mine.saga_ids.insert(state->result->saga_id);
      auto read = feed->read_after(state->seen_change, mine, SIZE_MAX);
      state->seen_change = read.next;
      const auto answers = [&](const SagaChange& change) {
        if (wait == Wait::none) return true;
        if (wait == Wait::end) return settled(change.status);
        return !may_still_progress(change.status) ||
               std::find(change.done_steps.begin(), change.done_steps.end(), wait_step) !=
                   change.done_steps.end();
      };
      if (!read.gap) {
        const auto first = std::find_if(read.changes.begin(), read.changes.end(), answers);
        if (first == read.changes.end()) return std::nullopt;
        // The end is answered from the change that committed it: it carries the status, and
        // reading the saga back from the store would cost a round trip to it on the way.
        if (wait == Wait::end) return answer(done(), *first, waited, nullptr);
      }
    }
    state->looked = true;
    auto row = backend.saga(state->result->saga_id);
    if (!row) return std::nullopt;  // committed: readable at the next look
    if (wait == Wait::none) return answer(done(), *row, nullptr, nullptr);
    if (wait == Wait::end) {
      if (settled(row->status)) return answer(done(), *row, waited, nullptr);
      return std::nullopt;
    }
    if (row->version == state->seen_version) return std::nullopt;
    state->seen_version = row->version;
    std::unique_ptr<SagaState> saga;
    try {
      saga = from_row(*row, backend.flows());
    } catch (const std::exception& e) {
      return reply.error(status::service_unavailable,
                         "saga " + row->id + " cannot be read: " + e.what());
    }
    const int node = saga->plan->find(wait_step);
    if (node >= 0 && saga->nodes[static_cast<std::size_t>(node)] == NodeStatus::done) {
      const auto* result = saga->steps.if_contains(wait_step);
      return answer(done(), *row, waited, result ? *result : json::value(nullptr));
    }
    // Failing, compensating or ended: the step will not complete any more.
    if (node < 0 || !may_still_progress(row->status)) return answer(done(), *row, nullptr, nullptr);
    return std::nullopt;
  };
  const auto limit = wait == Wait::none ? options_.commit_timeout : timeout;
  auto expire = [=, &backend]() -> Response {
    if (!state->result) {
      return reply.error(status::service_unavailable, not_committed("the start", limit));
    }
    auto row = backend.saga(state->result->saga_id);
    if (!row) return reply.error(status::service_unavailable, "the saga cannot be read yet");
    return answer(status::accepted, *row, nullptr, nullptr);
  };
  return woken_by_changes(Pending(std::move(poll), std::move(expire), limit), feed);
}

Response AdminApi::list(Context& c) {
  auto params = c.params({"flow", "status", "key", "from", "to", "limit", "after", "id_prefix"});
  SagaFilter filter;
  filter.id_prefix = params["id_prefix"];
  if (filter.id_prefix.size() > kMaxIdPrefix ||
      !std::all_of(filter.id_prefix.begin(), filter.id_prefix.end(),
                   [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
    bad("id_prefix must be 1 to " + std::to_string(kMaxIdPrefix) +
        " printable ASCII characters (a saga id's beginning)");
  }
  filter.flow = params["flow"];
  filter.status = params["status"];
  if (!filter.status.empty()) check_status("status", filter.status);
  filter.key = params["key"];
  filter.created_from = time_value("from", params["from"]);
  filter.created_before = time_value("to", params["to"]);
  const auto limit = count_value("limit", params["limit"], kDefaultPage, kMaxPage);
  if (const auto& after = params["after"]; !after.empty()) {
    filter.after = decode_cursor(after);
    if (!filter.after) bad("after is not a cursor this endpoint gave");
  }
  filter.limit = limit + 1;  // one more tells whether there is a next page
  auto rows = backend_.list(filter);
  json::value next = nullptr;
  if (rows.size() > limit) {
    rows.resize(limit);
    next = encode_cursor(SagaCursor{rows.back().created_at, rows.back().id});
  }
  json::array sagas;
  sagas.reserve(rows.size());
  for (const auto& row : rows) sagas.push_back(saga_list_json(row, backend_.flows()));
  return c.reply.json(status::ok, json::object{{"sagas", std::move(sagas)}, {"next", next}});
}

Response AdminApi::show(Context& c, std::string_view id) {
  auto row = backend_.saga(id);
  if (!row) return c.reply.error(status::not_found, "no saga " + std::string(id));
  return c.reply.json(status::ok, saga_detail_json(*row, backend_.history(id), backend_.flows()));
}

namespace {

// Cancel and pause take a reason (recorded in the history); retry and resume take none.
bool takes_reason(std::string_view action) {
  return action == "cancel" || action == "pause";
}

std::string default_reason(std::string_view action) {
  return action == "cancel" ? "cancelled by an operator" : "paused by an operator";
}

}  // namespace

std::future<void> AdminApi::ask(std::string_view action, std::string id, std::string reason) {
  if (action == "cancel") return backend_.cancel(std::move(id), std::move(reason));
  if (action == "pause") return backend_.pause(std::move(id), std::move(reason));
  if (action == "resume") return backend_.resume(std::move(id));
  return backend_.retry(std::move(id));
}

Outcome AdminApi::operator_request(Context& c, std::string_view id, std::string_view action) {
  auto body = parse_object(c.request.body(), true);
  std::string reason;
  if (takes_reason(action)) {
    only_keys(body, {"reason"});
    reason = string_field(body, "reason");
    if (reason.empty()) reason = default_reason(action);
  } else {
    only_keys(body, {});
  }
  if (!backend_.saga(id)) return c.reply.error(status::not_found, "no saga " + std::string(id));

  auto future = std::make_shared<std::future<void>>(ask(action, std::string(id), reason));
  return when_committed(c, id, std::move(future), "the " + std::string(action));
}

// POST /api/sagas/{id}/skip and /edit: who asks comes from the X-Sagaflow-Actor header, why
// from the body's optional `reason`; both go into the saga's history.
Outcome AdminApi::repair(Context& c, std::string_view id, std::string_view action) {
  auto body = parse_object(c.request.body(), false);
  OperatorNote note{.actor = actor_header(c.request[kActorHeader]),
                    .reason = string_field(body, "reason")};
  std::shared_ptr<std::future<void>> future;
  if (action == "skip") {
    only_keys(body, {"step", "output", "reason"});
    const auto* output = body.if_contains("output");
    if (output == nullptr) bad("output is required: the step's output as later steps read it");
    SkipRequest request{.saga_id = std::string(id),
                        .step = string_field(body, "step"),
                        .output = *output,
                        .note = std::move(note)};
    if (!backend_.saga(id)) return c.reply.error(status::not_found, "no saga " + std::string(id));
    future = std::make_shared<std::future<void>>(backend_.skip(std::move(request)));
  } else {
    only_keys(body, {"input", "mode", "retry", "reason"});
    const auto* input = body.if_contains("input");
    if (input == nullptr || !input->is_object()) bad("input is required and must be an object");
    const auto mode = string_field(body, "mode");
    if (!mode.empty() && mode != "merge" && mode != "replace") {
      bad("mode must be merge or replace");
    }
    const auto* retry = body.if_contains("retry");
    if (retry != nullptr && !retry->is_bool()) bad("retry must be true or false");
    EditRequest request{.saga_id = std::string(id),
                        .input = *input,
                        .mode = mode == "replace" ? EditMode::replace : EditMode::merge,
                        .retry = retry == nullptr || retry->get_bool(),
                        .note = std::move(note)};
    if (!backend_.saga(id)) return c.reply.error(status::not_found, "no saga " + std::string(id));
    future = std::make_shared<std::future<void>>(backend_.edit(std::move(request)));
  }
  return when_committed(c, id, std::move(future), "the " + std::string(action));
}

// Answers {"id", "status"} once the orchestrator committed the request, or its failure.
Outcome AdminApi::when_committed(Context& c, std::string_view id,
                                 std::shared_ptr<std::future<void>> future, std::string what) {
  const auto reply = c.reply;
  const std::string saga_id(id);
  auto& backend = backend_;
  auto poll = [=, &backend]() -> std::optional<Response> {
    if (!ready(*future)) return std::nullopt;
    try {
      future->get();
    } catch (...) {
      return request_failed(reply, std::current_exception(), what);
    }
    auto row = backend.saga(saga_id);
    return reply.json(status::ok,
                      json::object{{"id", saga_id}, {"status", row ? row->status : "unknown"}});
  };
  const auto limit = options_.commit_timeout;
  auto expire = [=]() -> Response {
    return reply.error(status::service_unavailable, not_committed(what, limit));
  };
  return woken_by_changes(Pending(std::move(poll), std::move(expire), limit), backend_.changes());
}

Outcome AdminApi::bulk_action(Context& c, std::string_view action) {
  auto body = parse_object(c.request.body(), true);
  const bool retry = action == "retry", resume = action == "resume";
  if (retry && body.contains("status")) {
    bad("a bulk retry always takes the failed sagas; drop status");
  }
  if (resume && body.contains("status")) {
    bad("a bulk resume always takes the paused sagas; drop status");
  }
  if (takes_reason(action)) {
    only_keys(body, {"flow", "status", "from", "to", "key", "limit", "dry_run", "reason"});
  } else {
    only_keys(body, {"flow", "status", "from", "to", "key", "limit", "dry_run"});
  }
  SagaFilter filter;
  filter.status = retry    ? to_string(Status::failed)
                  : resume ? to_string(Status::paused)
                           : string_field(body, "status");
  if (!filter.status.empty()) check_status("status", filter.status);
  filter.flow = string_field(body, "flow");
  filter.key = string_field(body, "key");
  filter.created_from = time_value("from", string_field(body, "from"));
  filter.created_before = time_value("to", string_field(body, "to"));
  const auto limit = integer_field(body, "limit").value_or(kDefaultBulk);
  if (limit < 1 || limit > static_cast<std::int64_t>(kMaxBulk)) {
    bad("limit must be an integer from 1 to " + std::to_string(kMaxBulk));
  }
  filter.limit = static_cast<std::size_t>(limit);
  bool dry_run = false;
  if (const auto* d = body.if_contains("dry_run")) {
    if (!d->is_bool()) bad("dry_run must be true or false");
    dry_run = d->get_bool();
  }
  std::string reason;
  if (takes_reason(action)) {
    reason = string_field(body, "reason");
    if (reason.empty()) reason = default_reason(action);
  }
  const auto rows = backend_.list(filter);

  if (dry_run) {
    json::array sagas;
    for (const auto& row : rows) {
      json::object o{{"id", row.id}, {"flow", row.flow}, {"status", row.status}};
      if (action == "cancel") {
        json::array compensations;
        try {
          for (const auto& planned : compensations_on_cancel(*from_row(row, backend_.flows()))) {
            compensations.push_back(json::object{{"step", planned.step},
                                                 {"commands", json::value_from(planned.commands)}});
          }
        } catch (const std::exception& e) {
          o["error"] = text::printable(e.what());
        }
        o["compensations"] = std::move(compensations);
      }
      sagas.push_back(std::move(o));
    }
    return c.reply.json(status::ok, json::object{{"action", action},
                                                 {"dry_run", true},
                                                 {"count", rows.size()},
                                                 {"sagas", std::move(sagas)}});
  }

  struct Asked {
    std::string id;
    std::future<void> done;
  };
  auto asked = std::make_shared<std::vector<Asked>>();
  for (const auto& row : rows) asked->push_back(Asked{row.id, ask(action, row.id, reason)});
  const auto reply = c.reply;
  const auto commit_timeout = options_.commit_timeout;
  // The answer names what was done as the action's past tense, as the bulk retry always did.
  const std::string done_key = retry               ? "retried"
                               : resume            ? "resumed"
                               : action == "pause" ? "paused"
                                                   : "cancelled";
  const std::string what = "the " + std::string(action);
  auto answer = [asked, reply, commit_timeout, done_key, what]() {
    json::array done;
    json::array refused;
    for (auto& r : *asked) {
      if (!ready(r.done)) {
        refused.push_back(
            json::object{{"id", r.id}, {"error", not_committed(what, commit_timeout)}});
        continue;
      }
      try {
        r.done.get();
        done.push_back(json::value(r.id));
      } catch (const std::exception& e) {
        refused.push_back(json::object{{"id", r.id}, {"error", text::printable(e.what())}});
      }
    }
    return reply.json(status::ok,
                      json::object{{done_key, std::move(done)}, {"refused", std::move(refused)}});
  };
  auto poll = [asked, answer]() -> std::optional<Response> {
    for (const auto& r : *asked) {
      if (!ready(r.done)) return std::nullopt;
    }
    return answer();
  };
  return Pending(std::move(poll), std::move(answer), commit_timeout);
}

Response AdminApi::audit(Context& c) {
  auto params = c.params({"limit", "before"});
  const auto limit = count_value("limit", params["limit"], 50, kMaxPage);
  std::optional<std::uint64_t> before;
  if (!params["before"].empty()) {
    before = count_value("before", params["before"], 1, static_cast<std::size_t>(INT64_MAX));
  }
  auto entries = backend_.audit(before, limit);
  json::array out;
  for (const auto& e : entries) {
    out.push_back(json::object{{"seq", e.seq},
                               {"at", format_time(e.at)},
                               {"actor", e.actor},
                               {"action", e.action},
                               {"reason", e.reason},
                               {"request", e.request},
                               {"status", e.result_status},
                               {"result", e.result}});
  }
  json::value next = nullptr;
  if (entries.size() == limit && !entries.empty()) next = entries.back().seq;
  return c.reply.json(status::ok, json::object{{"entries", std::move(out)}, {"next", next}});
}

Response AdminApi::flow_pause(Context& c, std::string_view name, bool pause) {
  auto body = parse_object(c.request.body(), true);
  only_keys(body, {"reason"});
  if (!backend_.flows().find(std::string(name), 0)) {
    return c.reply.error(status::not_found, "unknown flow " + std::string(name));
  }
  backend_.set_flow_paused(std::string(name), pause);
  return c.reply.json(status::ok, json::object{{"flow", name}, {"paused", pause}});
}

// ---------------------------------------------------------------------------------------------
// Schedules (docs/schedules.md)

namespace {

json::value nullable_time(const std::optional<Timestamp>& t) {
  return t ? json::value(format_time(*t)) : json::value(nullptr);
}

json::object schedule_json(const ScheduleRow& s, Timestamp now) {
  boost::system::error_code ec;
  auto input = json::parse(s.input, ec);
  std::optional<Timestamp> next;
  try {
    if (!s.paused) next = schedule_next_fire(s, now);
  } catch (const std::exception&) {
    // A zone the system no longer knows: it fires nothing, and says so with a null.
  }
  return json::object{{"name", s.name},
                      {"flow", s.flow},
                      {"cron", s.cron},
                      {"zone", s.zone},
                      {"overlap", s.overlap},
                      {"input", ec ? json::value(nullptr) : input},
                      {"paused", s.paused},
                      {"deployed_at", format_time(s.deployed_at)},
                      {"last_fire", nullable_time(s.last_fire)},
                      {"last_outcome", s.last_fire ? json::value(s.last_outcome.c_str())
                                                   : json::value(nullptr)},
                      {"last_saga", s.last_saga.empty() ? json::value(nullptr)
                                                        : json::value(s.last_saga.c_str())},
                      {"next_fire", nullable_time(next)}};
}

}  // namespace

Response AdminApi::schedules(Context& c, std::string_view name, std::string_view action) {
  const auto method = c.request.method();
  const auto now = std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  auto find = [&]() -> std::optional<ScheduleRow> {
    for (auto& s : backend_.schedules()) {
      if (s.name == name) return std::move(s);
    }
    return std::nullopt;
  };
  auto unknown = [&] {
    return c.reply.error(status::not_found, "unknown schedule " + std::string(name));
  };
  if (name.empty()) {
    c.params({});
    json::array list;
    for (const auto& s : backend_.schedules()) list.push_back(schedule_json(s, now));
    return c.reply.json(status::ok, json::object{{"schedules", std::move(list)}});
  }
  if (!action.empty()) {
    auto body = parse_object(c.request.body(), true);
    only_keys(body, {"reason"});
    if (!backend_.set_schedule_paused(std::string(name), action == "pause")) return unknown();
    return c.reply.json(status::ok, json::object{{"schedule", schedule_json(*find(), now)}});
  }
  if (method == verb::get) {
    auto s = find();
    if (!s) return unknown();
    return c.reply.json(status::ok, json::object{{"schedule", schedule_json(*s, now)}});
  }
  if (method == verb::delete_) {
    if (!backend_.remove_schedule(std::string(name))) return unknown();
    return c.reply.json(status::ok, json::object{{"deleted", name}});
  }
  // PUT: deploy (create or replace).
  auto body = parse_object(c.request.body(), false);
  only_keys(body, {"flow", "cron", "zone", "overlap", "input"});
  ScheduleRow row{.name = std::string(name),
                  .flow = string_field(body, "flow"),
                  .cron = string_field(body, "cron")};
  if (row.cron.empty()) bad("cron is required, e.g. \"0 9 * * MON-FRI\"");
  if (auto zone = string_field(body, "zone"); !zone.empty()) row.zone = zone;
  if (auto overlap = string_field(body, "overlap"); !overlap.empty()) row.overlap = overlap;
  if (const auto* input = body.if_contains("input"); input && !input->is_null()) {
    if (!input->is_object()) bad("input must be a JSON object");
    row.input = json::serialize(*input);
  }
  const bool existed = find().has_value();
  try {
    backend_.save_schedule(row);
  } catch (const InvalidSchedule& e) {
    return c.reply.error(status::unprocessable_entity, e.what());
  } catch (const std::invalid_argument& e) {
    return c.reply.error(status::not_found, e.what());
  }
  return c.reply.json(existed ? status::ok : status::created,
                      json::object{{"schedule", schedule_json(*find(), now)}});
}

Outcome AdminApi::events(Context& c) {
  auto params = c.params({"flow", "status", "ids", "last_event_id"});
  ChangeFilter filter;
  filter.flows = list_value(params["flow"]);
  filter.statuses = list_value(params["status"]);
  for (const auto& s : filter.statuses) check_status("status", s);
  filter.saga_ids = list_value(params["ids"]);
  if (filter.saga_ids.size() > kMaxPage) {
    bad("ids names at most " + std::to_string(kMaxPage) + " sagas");
  }
  std::optional<std::uint64_t> resume_after;
  std::string_view last = params["last_event_id"];
  if (last.empty()) last = c.request["Last-Event-ID"];
  if (!last.empty()) {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(last.data(), last.data() + last.size(), id);
    if (ec != std::errc{} || end != last.data() + last.size()) {
      bad("Last-Event-ID (or last_event_id) must be an event id a stream gave");
    }
    resume_after = id;
  }
  auto* feed = backend_.changes();
  if (feed == nullptr) {
    return c.reply.error(status::service_unavailable, "this daemon does not stream changes");
  }
  // A place among the streams allowed at once, given back when the stream ends.
  auto open = open_streams_;
  if (open->fetch_add(1) >= options_.max_streams) {
    open->fetch_sub(1);
    auto res = c.reply.error(status::service_unavailable,
                             "too many event streams are open (at most " +
                                 std::to_string(options_.max_streams) + "); try again later");
    res.set(beast_http::field::retry_after, "5");
    return res;
  }
  std::shared_ptr<void> place(nullptr, [open](void*) { open->fetch_sub(1); });
  return open_event_stream(*feed, std::move(filter), resume_after, std::move(place),
                           options_.stream_heartbeat);
}

Response AdminApi::counts(Context& c) {
  json::array counts;
  for (const auto& count : backend_.counts()) {
    counts.push_back(
        json::object{{"flow", count.flow}, {"status", count.status}, {"count", count.count}});
  }
  return c.reply.json(status::ok, json::object{{"counts", std::move(counts)}});
}

// ---------------------------------------------------------------------------------------------
// Retention

namespace {

json::object purge_json(const std::vector<PurgeGroup>& groups, bool dry_run) {
  json::array list;
  std::uint64_t sagas = 0;
  std::uint64_t history = 0;
  for (const auto& g : groups) {
    json::object o{{"flow", g.flow},
                   {"status", to_string(g.status)},
                   {"keep_for", flow::format_keep_for(g.keep)},
                   {"sagas", g.sagas}};
    if (dry_run) {
      o["oldest"] = g.oldest ? json::value(format_time(*g.oldest)) : json::value(nullptr);
    } else {
      o["history"] = g.history;
    }
    sagas += g.sagas;
    history += g.history;
    list.push_back(std::move(o));
  }
  json::object out{{"dry_run", dry_run}, {"groups", std::move(list)}, {"sagas", sagas}};
  if (!dry_run) {
    out["history"] = history;
    out["done"] = true;
  }
  return out;
}

}  // namespace

Outcome AdminApi::purge(Context& c) {
  auto body = parse_object(c.request.body(), true);
  only_keys(body, {"flow", "status", "dry_run"});
  PurgeScope scope;
  scope.flow = string_field(body, "flow");
  if (const auto status = string_field(body, "status"); !status.empty()) {
    const auto parsed = status_from_string(status);
    if (!parsed || std::find(kRemovableStatuses.begin(), kRemovableStatuses.end(), *parsed) ==
                       kRemovableStatuses.end()) {
      bad("status must be completed, compensated or cancelled: retention removes finished sagas "
          "only (failed ones wait for an operator and are never removed)");
    }
    scope.status = parsed;
  }
  bool dry_run = false;
  if (const auto* v = body.if_contains("dry_run"); v && !v->is_null()) {
    if (!v->is_bool()) bad("dry_run must be true or false");
    dry_run = v->get_bool();
  }
  if (!scope.flow.empty() && !backend_.flows().find(scope.flow)) {
    return c.reply.error(status::not_found, "no flow " + scope.flow);
  }
  if (dry_run) return c.reply.json(status::ok, purge_json(backend_.purge_preview(scope), true));

  auto done = std::make_shared<std::future<std::vector<PurgeGroup>>>(backend_.purge(scope));
  const auto reply = c.reply;
  auto poll = [done, reply]() -> std::optional<Response> {
    if (!ready(*done)) return std::nullopt;
    try {
      return reply.json(status::ok, purge_json(done->get(), false));
    } catch (const std::exception& e) {
      log::warn("purge failed", {{"error", e.what()}});
      return reply.error(status::service_unavailable, std::string("the purge failed: ") + e.what());
    }
  };
  auto expire = [reply]() -> Response {
    return reply.json(status::accepted,
                      json::object{{"dry_run", false},
                                   {"done", false},
                                   {"message",
                                    "the purge goes on; ask again with dry_run to see "
                                    "what is left"}});
  };
  return Pending(std::move(poll), std::move(expire), options_.purge_timeout);
}

// ---------------------------------------------------------------------------------------------
// Flows

Response AdminApi::flows(Context& c) {
  // Paused flows (POST /api/flows/{name}/pause) from the store; null when it cannot say (it does
  // not answer, or this process serves no pausing).
  std::optional<std::vector<std::string>> paused;
  try {
    paused = backend_.paused_flows();
  } catch (const std::exception&) {
  }
  json::array flows;
  json::object* current = nullptr;
  for (const auto& plan : backend_.flows().all()) {  // by name, then version
    const auto& f = plan->flow();
    if (current == nullptr || current->at("name").as_string() != f.name) {
      flows.push_back(json::object{
          {"name", f.name},
          {"latest", f.version},
          {"versions", json::array{}},
          {"paused", paused ? json::value(std::ranges::find(*paused, f.name) != paused->end())
                            : json::value(nullptr)}});
      current = &flows.back().as_object();
    }
    (*current)["latest"] = f.version;
    (*current)["versions"].as_array().push_back(f.version);
    (*current)["input"] = input_contract_json(f.input);  // the latest version's
  }
  return c.reply.json(status::ok, json::object{{"flows", std::move(flows)}});
}

Response AdminApi::flow(Context& c, std::string_view name) {
  auto params = c.params({"version"});
  int version = 0;
  if (const auto& text = params["version"]; !text.empty()) {
    version = static_cast<int>(count_value("version", text, 0, INT32_MAX));
  }
  auto plan = backend_.flows().find(name, version);
  if (!plan) {
    return c.reply.error(status::not_found,
                         "unknown flow " + std::string(name) +
                             (version ? " version " + std::to_string(version) : ""));
  }
  const auto& f = plan->flow();
  auto source = backend_.flow_source(f.name, f.version);
  return c.reply.json(status::ok,
                      json::object{{"name", f.name},
                                   {"version", f.version},
                                   {"source", source ? json::value(*source) : nullptr}});
}

namespace {

json::array diagnostics_json(const std::vector<flow::Diagnostic>& diagnostics) {
  json::array out;
  for (const auto& d : diagnostics) {
    out.push_back(json::object{
        {"line", d.line}, {"column", d.column}, {"message", text::printable(d.message)}});
  }
  return out;
}

// Warnings never refuse a flow: both routes return them beside their answer.
json::array warnings_json(const std::vector<flow::Diagnostic>& warnings) {
  json::array out;
  for (const auto& w : warnings) {
    out.push_back(json::object{{"line", w.line},
                               {"column", w.column},
                               {"code", w.code},
                               {"message", text::printable(w.message)},
                               {"fix", text::printable(w.fix)}});
  }
  return out;
}

constexpr std::string_view kUnservedServiceFix =
    "check the service's name; if it is right, start a worker that serves it (its commands wait "
    "in its queue until then)";

std::string seconds_text(std::chrono::milliseconds budget) {
  return std::to_string(std::max<long long>(1, (budget.count() + 999) / 1000));
}

}  // namespace

// Parsing and verifying run on the checker's threads (flow_checker.hpp), never on the calling
// thread: a flow that would take the parser forever is answered at the budget's end while the
// thread it holds is given up. `answer` turns a finished check into the response.
Outcome AdminApi::check_posted_flow(Context& c,
                                    std::function<Response(const FlowCheck& check)> answer) {
  const auto reply = c.reply;
  const auto budget = checker_.options().budget;
  const auto busy = [reply, budget](std::string message) {
    auto res = reply.error(status::service_unavailable, message);
    res.set(beast_http::field::retry_after, seconds_text(budget));
    return res;
  };
  auto submitted = checker_.submit(std::string(c.request.body()));
  if (!submitted.check) {
    if (submitted.refusal == FlowChecker::Refusal::all_stuck) {
      return reply.error(status::service_unavailable,
                         "every flow check thread is held by an earlier flow that never finished "
                         "parsing; restart sagaflowd to check flows again");
    }
    return busy("too many flows are waiting to be checked; try again");
  }
  auto check = std::move(submitted.check);
  auto poll = [check, answer]() -> std::optional<Response> {
    if (check->state() != FlowCheck::State::done) return std::nullopt;
    return answer(*check);
  };
  auto& checker = checker_;
  auto expire = [check, answer, reply, budget, busy, &checker]() -> Response {
    switch (checker.abandon(check)) {
      case FlowCheck::State::done:
        return answer(*check);
      case FlowCheck::State::queued:
        return busy("the flow waited " + std::to_string(budget.count()) +
                    " ms for a flow check thread without getting one; try again");
      default: {
        const auto message = "the flow was not parsed and verified within " +
                             std::to_string(budget.count()) +
                             " ms: refused (a flow that slow to read is hostile or far too large)";
        return reply.error(
            status::unprocessable_entity, message,
            json::array{json::object{{"line", 0}, {"column", 0}, {"message", message}}});
      }
    }
  };
  return Pending(std::move(poll), std::move(expire), budget);
}

Outcome AdminApi::lint(Context& c) {
  const auto reply = c.reply;
  return check_posted_flow(c, [reply](const FlowCheck& check) {
    const auto& result = check.result();
    return reply.json(status::ok,
                      json::object{{"ok", result.ok()},
                                   {"diagnostics", diagnostics_json(result.diagnostics)},
                                   {"warnings", warnings_json(result.warnings)}});
  });
}

Outcome AdminApi::deploy(Context& c) {
  const auto reply = c.reply;
  return check_posted_flow(c, [this, reply](const FlowCheck& check) {
    const auto& result = check.result();
    if (!result.ok()) {
      return reply.error(status::unprocessable_entity,
                         "the flow does not pass lint: " +
                             std::to_string(result.diagnostics.size()) + " problem(s)",
                         diagnostics_json(result.diagnostics));
    }
    // Sub-flows: what one file cannot tell, checked against the flows deployed now.
    const auto& known = backend_.flows();
    const auto subflow_problems =
        flow::check_subflows(*result.flow, [&known](std::string_view name) -> const flow::Flow* {
          auto plan = known.find(name);
          return plan ? &plan->flow() : nullptr;
        });
    if (!subflow_problems.empty()) {
      return reply.error(status::unprocessable_entity,
                         "the flow's sub-flows are refused: " +
                             std::to_string(subflow_problems.size()) + " problem(s)",
                         diagnostics_json(subflow_problems));
    }
    const auto name = result.flow->name;
    const auto version = result.flow->version;
    DeployResult deployed;
    try {
      deployed = backend_.deploy(result.flow, check.text());
    } catch (const FlowVersionExists& e) {
      return reply.error(status::conflict, e.what());
    } catch (const DeployRefused& e) {
      return reply.error(status::conflict, e.what());
    } catch (const NotServing& e) {
      return reply.error(status::service_unavailable, e.what());
    }
    const bool created = deployed.deployed == Deployed::created;
    if (created) log::info("flow deployed", {{"flow", name}, {"version", version}});
    // The flow's own warnings (as lint's), then the services nobody serves (no position).
    json::array warnings = warnings_json(result.warnings);
    for (const auto& w : deployed.warnings) {
      log::warn(
          "flow deploy warning",
          {{"flow", name}, {"version", version}, {"service", w.service}, {"warning", w.message}});
      warnings.push_back(json::object{{"line", 0},
                                      {"column", 0},
                                      {"code", "unserved_service"},
                                      {"service", w.service},
                                      {"message", text::printable(w.message)},
                                      {"fix", kUnservedServiceFix}});
    }
    return reply.json(
        created ? status::created : status::ok,
        json::object{{"name", name}, {"version", version}, {"warnings", std::move(warnings)}});
  });
}

// ---------------------------------------------------------------------------------------------
// Outside events

namespace {

// AMQP carries the type (the routing key) and the ids as short strings.
constexpr std::size_t kMaxEventField = 255;

// A field of an outside event's envelope: at most 255 bytes, no control character.
std::string envelope_field(const json::object& body, std::string_view key, bool required) {
  auto value = string_field(body, key);
  if (value.empty()) {
    if (required) bad(std::string(key) + " is required (a non-empty string)");
    if (body.contains(key) && !body.at(key).is_null()) {
      bad(std::string(key) + " must not be empty; leave it out instead");
    }
    return value;
  }
  if (value.size() > kMaxEventField) {
    bad(std::string(key) + " is longer than " + std::to_string(kMaxEventField) + " bytes");
  }
  for (unsigned char ch : value) {
    if (ch < 0x20 || ch == 0x7f) bad(std::string(key) + " must not contain control characters");
  }
  return value;
}

}  // namespace

Outcome AdminApi::send_event(Context& c) {
  auto body = parse_object(c.request.body(), false);
  only_keys(body, {"type", "payload", "message_id", "correlation_id"});
  Message event;
  event.kind = MessageKind::event;
  event.type = envelope_field(body, "type", true);
  event.id = envelope_field(body, "message_id", false);
  event.correlation_id = envelope_field(body, "correlation_id", false);
  const auto* payload = body.if_contains("payload");
  if (payload != nullptr && !payload->is_null() && !payload->is_object()) {
    bad("payload must be a JSON object");
  }
  event.body = payload == nullptr || payload->is_null() ? "{}" : json::serialize(*payload);
  if (event.id.empty()) event.id = "api-event/" + new_trace_id();
  std::string_view trace = c.request["traceparent"];
  event.traceparent = valid_traceparent(trace) ? std::string(trace) : new_traceparent();

  const auto reply = c.reply;
  const json::object accepted{{"message_id", event.id}, {"type", event.type}};
  auto sent = std::make_shared<std::future<void>>(backend_.send_event(std::move(event)));
  auto poll = [reply, sent, accepted]() -> std::optional<Response> {
    if (!ready(*sent)) return std::nullopt;
    try {
      sent->get();
    } catch (const EventNotRouted& e) {
      return reply.error(status::unprocessable_entity, e.what());
    } catch (const std::exception& e) {
      log::warn("event not sent", {{"type", accepted.at("type")}, {"error", e.what()}});
      return reply.error(status::service_unavailable,
                         std::string("the event was not sent: ") + e.what());
    }
    return reply.json(status::accepted, accepted);
  };
  const auto limit = options_.commit_timeout;
  auto expire = [reply, limit]() -> Response {
    return reply.error(status::service_unavailable,
                       "the event was not confirmed within " + std::to_string(limit.count()) +
                           " ms; it may still arrive (send it again with the same message_id)");
  };
  return Pending(std::move(poll), std::move(expire), limit);
}

// ---------------------------------------------------------------------------------------------
// Health and metrics

Response AdminApi::readyz(Context& c) {
  const auto r = backend_.readiness();
  json::object parts{{"store", r.store.empty() ? "ok" : r.store},
                     {"broker", r.broker.empty() ? "ok" : r.broker}};
  // A warning, not a failure: the process serves, but nobody takes some service's commands.
  // Absent when there is none, so that the answer is as it always was.
  json::array unserved;
  for (const auto& name : services_without_consumer(backend_.last_services())) {
    unserved.push_back(json::value(name));
  }
  if (!unserved.empty()) parts["services_without_consumer"] = std::move(unserved);
  if (r.ready()) {
    parts["status"] = "ready";
    return c.reply.json(status::ok, parts);
  }
  json::object since;
  if (!r.store.empty() && r.store_down_since) since["store"] = format_time(*r.store_down_since);
  if (!r.broker.empty() && r.broker_down_since) {
    since["broker"] = format_time(*r.broker_down_since);
  }
  if (!since.empty()) parts["since"] = std::move(since);
  std::string message = "not ready:";
  if (!r.store.empty()) message += " store: " + r.store + ";";
  if (!r.broker.empty()) message += " broker: " + r.broker + ";";
  message.pop_back();
  return c.reply.error(status::service_unavailable, message, std::move(parts));
}

Response AdminApi::services(Context& c) {
  c.params({});
  const auto health = backend_.services();
  json::array services;
  json::array unserved;
  for (const auto& h : health) {
    json::object o{{"service", h.service},
                   {"consumers", h.consumers ? json::value(*h.consumers) : json::value(nullptr)},
                   {"queued", h.queued ? json::value(*h.queued) : json::value(nullptr)},
                   {"in_flight", h.in_flight},
                   {"waiting", h.waiting},
                   {"oldest_waiting_ms", h.oldest_waiting_age.count()},
                   {"last_reply_at",
                    h.last_reply ? json::value(format_time(*h.last_reply)) : json::value(nullptr)},
                   {"without_consumer", h.without_consumer}};
    if (h.without_consumer) unserved.push_back(json::value(h.service));
    services.push_back(std::move(o));
  }
  return c.reply.json(status::ok, json::object{{"services", std::move(services)},
                                               {"without_consumer", std::move(unserved)}});
}

Response AdminApi::metrics(Context& c) {
  auto gauges = backend_.gauges();
  try {
    for (const auto& count : backend_.counts()) {
      if (count.status == to_string(Status::paused)) gauges.paused_sagas[count.flow] = count.count;
    }
  } catch (const std::exception&) {
    // The store does not answer: the other metrics are still worth serving.
  }
  Response res{status::ok, c.reply.version};
  res.set(beast_http::field::server, kServer);
  res.set(beast_http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.set(beast_http::field::cache_control, "no-store");
  res.keep_alive(c.reply.keep_alive);
  res.body() = metrics_ ? metrics_->render(gauges) : PrometheusMetrics().render(gauges);
  res.prepare_payload();
  return res;
}

std::string AdminApi::random_hex(int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard lock(random_mutex_);
  std::string t;
  for (int i = 0; i < digits; i += 16) {
    auto bits = random_();
    for (int j = 0; j < 16 && i + j < digits; ++j, bits >>= 4) t.push_back(kHex[bits & 0xf]);
  }
  return t;
}

std::string AdminApi::new_trace_id() {
  return random_hex(32);
}

std::string AdminApi::new_traceparent() {
  std::string t;
  do {  // again only for ids of all zeros, which W3C forbids
    t = "00-" + new_trace_id() + "-" + random_hex(16) + "-01";
  } while (!valid_traceparent(t));
  return t;
}

}  // namespace sagaflow::http
