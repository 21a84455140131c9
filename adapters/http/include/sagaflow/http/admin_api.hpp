#pragma once
// The admin endpoint (docs/admin-api.md) as a function of the request: no socket, no timer, so
// that tests call it directly and the server (server.hpp) puts it on the network.
//
// Most answers are ready at once. Those that wait for the orchestrator (a start, a cancel, a
// retry: answered once committed; a start's `wait` for a step or the end) come back as a
// Pending: the caller polls it, on a timer, without blocking, until it yields the response or
// its time is up (then expire() gives the answer for that case, e.g. 202).
//
// Threading: handle_request and the Pendings it returns may be called from any thread, one
// call at a time per Pending; the backend must be safe to call from the calling threads.
#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "sagaflow/engine/admin_addresses.hpp"
#include "sagaflow/engine/engine.hpp"
#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/retention.hpp"
#include "sagaflow/engine/saga_changes.hpp"
#include "sagaflow/engine/service_health.hpp"
#include "sagaflow/flow/flow.hpp"
#include "sagaflow/http/flow_checker.hpp"

namespace sagaflow::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// ---------------------------------------------------------------------------------------------
// The seam to the engine: what the API reads and asks for. AdminBackendImpl implements it over
// an Orchestrator, a Store and a FlowRegistry; tests may fake it.

struct Readiness {
  std::string store;   // empty when the store answers, else why not
  std::string broker;  // empty when the broker is connected (or there is none), else why not
  // Since when each has not answered, when known (the first failure of the current outage).
  std::optional<Timestamp> store_down_since;
  std::optional<Timestamp> broker_down_since;
  bool ready() const { return store.empty() && broker.empty(); }
};

struct Gauges {
  std::size_t sagas_in_flight = 0;
  std::size_t outbox_lag = 0;
  // Per service, by name: commands in flight and waiting for a slot (Orchestrator::service_loads).
  std::vector<ServiceLoad> services;
  // Sagas paused now, by flow (from the store's counts; filled by the admin endpoint).
  std::map<std::string, std::uint64_t> paused_sagas;
  // Per service, by name, as last seen (AdminBackend::last_services): consumers and the warning.
  std::vector<ServiceHealth> service_health;
};

enum class Deployed { created, unchanged };

// A deployed flow sends commands to a service that no flow used before and that nothing
// consumes yet: a misspelled name, or a worker not started yet. Logged and answered, not refused.
struct DeployWarning {
  std::string service;
  std::string message;
};

struct DeployResult {
  Deployed deployed = Deployed::created;
  std::vector<DeployWarning> warnings;
};

// A deploy the running daemon cannot take (e.g. its broker has no queue for a new service).
class DeployRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend cannot serve yet (sagaflowd still waits for its servers): the API answers 503
// `unavailable` with this text, and logs nothing (/readyz says why).
class NotServing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class AdminBackend {
 public:
  virtual ~AdminBackend() = default;

  // Orchestrator requests, fulfilled once committed; failures as Orchestrator's (InvalidInput,
  // Refused, std::invalid_argument for an unknown flow or saga).
  virtual std::future<StartResult> start(StartRequest request) = 0;
  virtual std::future<void> cancel(std::string saga_id, std::string reason) = 0;
  virtual std::future<void> retry(std::string saga_id) = 0;
  // Pause and resume (Orchestrator::pause/resume, set_flow_paused), and the audit log
  // (Store::append_audit/audit). By default there are none: NotServing (503).
  virtual std::future<void> pause(std::string /*saga_id*/, std::string /*reason*/) {
    throw NotServing("pausing sagas is not served by this process");
  }
  virtual std::future<void> resume(std::string /*saga_id*/) {
    throw NotServing("resuming sagas is not served by this process");
  }
  virtual void set_flow_paused(const std::string& /*flow*/, bool /*paused*/) {
    throw NotServing("pausing flows is not served by this process");
  }
  virtual std::vector<std::string> paused_flows() {
    throw NotServing("pausing flows is not served by this process");
  }
  virtual void append_audit(const AuditEntry& /*entry*/) {
    throw NotServing("this process keeps no audit log");
  }
  virtual std::vector<AuditEntry> audit(std::optional<std::uint64_t> /*before*/,
                                        std::size_t /*limit*/) {
    throw NotServing("this process keeps no audit log");
  }
  // Schedules (Orchestrator::save_schedule..., Store::schedules). By default there are none:
  // NotServing (503).
  virtual void save_schedule(ScheduleRow /*schedule*/) {
    throw NotServing("schedules are not served by this process");
  }
  virtual std::vector<ScheduleRow> schedules() {
    throw NotServing("schedules are not served by this process");
  }
  virtual bool set_schedule_paused(const std::string& /*name*/, bool /*paused*/) {
    throw NotServing("schedules are not served by this process");
  }
  virtual bool remove_schedule(const std::string& /*name*/) {
    throw NotServing("schedules are not served by this process");
  }
  // An operator's repairs of a parked saga (Engine::skip, Engine::edit). By default there are
  // none: NotServing (503).
  virtual std::future<void> skip(SkipRequest /*request*/) {
    throw NotServing("skipping a step is not served by this process");
  }
  virtual std::future<void> edit(EditRequest /*request*/) {
    throw NotServing("editing a saga is not served by this process");
  }

  // An outside event, delivered as a participant publishing it would (docs/protocol.md §8).
  // Ready once the transport holds it; failed with EventNotRouted when nothing takes its type.
  virtual std::future<void> send_event(Message event) = 0;

  // Reads from the store.
  virtual std::optional<SagaRow> saga(std::string_view id) = 0;
  virtual std::vector<HistoryRow> history(std::string_view id) = 0;
  virtual std::vector<SagaRow> list(const SagaFilter& filter) = 0;
  virtual std::vector<SagaCount> counts() = 0;

  // The flows that run, by name and version, and the text each was deployed with (nullopt when
  // the store does not have it).
  virtual const FlowRegistry& flows() = 0;
  virtual std::optional<std::string> flow_source(std::string_view name, int version) = 0;
  // Stores and registers a verified flow. Throws FlowVersionExists (another text under that
  // version), DeployRefused, or NotServing (the broker cannot declare its queues now).
  virtual DeployResult deploy(std::shared_ptr<const flow::Flow> flow,
                              const std::string& source) = 0;

  virtual Readiness readiness() = 0;
  virtual Gauges gauges() = 0;

  // Each service (GET /api/services), asked now: consumers from the transport, this
  // orchestrator's loads, the last reply. By default there is none: NotServing (503).
  virtual std::vector<ServiceHealth> services() {
    throw NotServing("this process does not watch services");
  }
  // The same as last asked (no I/O: /readyz and /metrics read it); empty before the first.
  virtual std::vector<ServiceHealth> last_services() { return {}; }

  // Several orchestrators: the live owner of `partition` and its advertised admin URL, where an
  // operator request refused here with NotOwner is forwarded. nullopt: nobody owns it now.
  virtual std::optional<PartitionOwner> owner_of(int /*partition*/) { return std::nullopt; }

  // Retention (POST /api/purge): what a pass begun now would remove, and a pass now, fulfilled
  // when it has ended with what it removed. By default there is none: NotServing (503).
  virtual std::vector<PurgeGroup> purge_preview(const PurgeScope& /*scope*/) {
    throw NotServing("retention does not run in this process");
  }
  virtual std::future<std::vector<PurgeGroup>> purge(const PurgeScope& /*scope*/) {
    throw NotServing("retention does not run in this process");
  }
  // The committed changes of the sagas, for the event stream and waiting starts; null when the
  // backend has none (the stream then answers 503, and waiting starts poll the store).
  virtual SagaChangeFeed* changes() { return nullptr; }
};

// ---------------------------------------------------------------------------------------------
// An answer that needs the orchestrator first.

// How a caller asks to be woken when polling again may help (a saga changed): it calls `wake`
// (from any thread) until the handle returned is dropped.
using WakeOn = std::function<SagaChangeFeed::Watch(std::function<void()> wake)>;

class Pending {
 public:
  using Poll = std::function<std::optional<Response>()>;
  using Expire = std::function<Response()>;

  Pending(Poll poll, Expire expire, std::chrono::milliseconds timeout)
      : poll_(std::move(poll)), expire_(std::move(expire)), timeout_(timeout) {}

  // The response once it is ready; nullopt while not yet.
  std::optional<Response> poll() { return poll_(); }
  // The response when `timeout()` passed before poll() gave one.
  Response expire() { return expire_(); }
  // From the request's arrival.
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Set when a saga's change is what makes poll() answer: the caller polls when woken (and on a
  // slow timer only for what no change announces, such as a commit that failed).
  const WakeOn& wake_on() const { return wake_on_; }
  Pending& woken_by(WakeOn wake_on) {
    wake_on_ = std::move(wake_on);
    return *this;
  }

 private:
  Poll poll_;
  Expire expire_;
  std::chrono::milliseconds timeout_;
  WakeOn wake_on_;
};

// ---------------------------------------------------------------------------------------------
// An answer that goes on: Server-Sent Events (GET /api/sagas/events). The caller writes
// `head()`, then whatever next() gives, each time it is woken and whenever `heartbeat()` passed
// without a write (then a comment line if next() gives nothing). It never holds more than one
// next() in memory: a client too slow to read finds a `gap` event when it falls behind the
// feed's ring, and one that does not read within the write timeout is closed. Dropping the
// stream frees its place among the streams allowed at once.
class EventStream {
 public:
  using Next = std::function<std::string()>;

  EventStream(std::string head, Next next, WakeOn wake_on, std::shared_ptr<void> place,
              std::chrono::milliseconds heartbeat)
      : head_(std::move(head)),
        next_(std::move(next)),
        wake_on_(std::move(wake_on)),
        place_(std::move(place)),
        heartbeat_(heartbeat) {}

  // The status line and headers, and the stream's first lines.
  const std::string& head() const { return head_; }
  // The events since the last call, at most a bounded batch; empty when there is none.
  std::string next() { return next_(); }
  SagaChangeFeed::Watch wake_on(std::function<void()> wake) const {
    return wake_on_(std::move(wake));
  }
  std::chrono::milliseconds heartbeat() const { return heartbeat_; }

 private:
  std::string head_;
  Next next_;
  WakeOn wake_on_;
  std::shared_ptr<void> place_;
  std::chrono::milliseconds heartbeat_;
};

using Outcome = std::variant<Response, Pending, EventStream>;

// ---------------------------------------------------------------------------------------------

struct AdminOptions {
  // When not empty, every route but /healthz, /readyz and the dashboard's pages and files
  // (dashboard.hpp: they hold no data) needs `Authorization: Bearer <token>`.
  std::string token;
  // How long a start, cancel or retry may wait for the orchestrator's commit.
  std::chrono::milliseconds commit_timeout{10'000};
  // A start's `wait`: when the request names no timeout_ms, and the cap of one it names.
  std::chrono::milliseconds default_wait{10'000};
  std::chrono::milliseconds max_wait{30'000};
  // How long a request forwarded to its saga's owner (another orchestrator) may take at most
  // (within the request's own time: a cancel's or retry's commit_timeout).
  std::chrono::milliseconds forward_timeout{15'000};
  // How long POST /api/purge waits for its pass to end before it answers 202 (the pass goes on).
  std::chrono::milliseconds purge_timeout{20'000};
  // Where and how long a posted flow is parsed and verified (flow_checker.hpp).
  FlowCheckOptions flow_checks;
  // Event streams (GET /api/sagas/events) open at once; one more is answered 503.
  std::size_t max_streams = 32;
  // A comment line on a stream that had nothing to say for this long (keeps proxies and
  // clients from taking it for dead).
  std::chrono::milliseconds stream_heartbeat{15'000};
};

class PrometheusMetrics;

class AdminApi {
 public:
  // `metrics` may be null: /metrics then serves the gauges only.
  AdminApi(AdminBackend& backend, AdminOptions options, PrometheusMetrics* metrics = nullptr);

  Outcome handle_request(const Request& request);

  bool requires_token() const { return !options_.token.empty(); }

 private:
  struct Context;
  Outcome route(Context& c);
  Outcome start(Context& c);
  Response list(Context& c);
  Response show(Context& c, std::string_view id);
  Outcome operator_request(Context& c, std::string_view id, std::string_view action);
  Outcome bulk_action(Context& c, std::string_view action);
  std::future<void> ask(std::string_view action, std::string id, std::string reason);
  Response audit(Context& c);
  Response flow_pause(Context& c, std::string_view name, bool pause);
  // /api/schedules and /api/schedules/{name}[/{action}] (docs/admin-api.md#schedules).
  Response schedules(Context& c, std::string_view name, std::string_view action);
  Outcome answer(const Request& request);
  void record_audit(AuditEntry entry, const Response& response);
  Outcome repair(Context& c, std::string_view id, std::string_view action);
  Outcome when_committed(Context& c, std::string_view id, std::shared_ptr<std::future<void>> future,
                         std::string what);
  Response counts(Context& c);
  Outcome purge(Context& c);
  Outcome events(Context& c);
  Response flows(Context& c);
  Response flow(Context& c, std::string_view name);
  Outcome lint(Context& c);
  Outcome deploy(Context& c);
  Outcome check_posted_flow(Context& c, std::function<Response(const FlowCheck& check)> answer);
  Outcome send_event(Context& c);
  Response readyz(Context& c);
  Response services(Context& c);
  // Wraps an answer so that a NotOwner it fails with, at once or when polled, sends the request
  // on to the saga's owner (forward_to_owner): the one place every operator request gets it.
  Outcome forwarding_not_owner(const Request& request, Outcome outcome);
  // `budget`: how long the owner may take (at most AdminOptions::forward_timeout).
  Outcome forward_to_owner(const Request& request, const NotOwner& refusal,
                           std::chrono::milliseconds budget);
  Response metrics(Context& c);
  std::string random_hex(int digits);
  std::string new_trace_id();  // 32 hex digits
  std::string new_traceparent();

  AdminBackend& backend_;
  AdminOptions options_;
  PrometheusMetrics* metrics_;
  FlowChecker checker_;
  std::shared_ptr<std::atomic<std::size_t>> open_streams_;
  std::mutex random_mutex_;
  std::mt19937_64 random_;
};

// An error answer as the API makes them, {"error": {"code", "message"}}; the server uses it for
// what never reaches handle_request (a body too large, what is not HTTP).
Response error_response(beast_http::status status, std::string_view code, std::string_view message,
                        unsigned version = 11, bool keep_alive = false);

}  // namespace sagaflow::http
