#pragma once
// The admin API's backend over the engine: requests go to the Orchestrator, reads to SagaReads
// (a ReadPool of their own, or the Store), flows to the FlowRegistry (and deploys to both the
// store and the registry).
//
// Threading: every member may be called from any thread (the Orchestrator's requests, the
// Store and the FlowRegistry are); deploys are serialised among themselves.
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sagaflow/engine/orchestrator.hpp"
#include "sagaflow/engine/plan.hpp"
#include "sagaflow/engine/ports.hpp"
#include "sagaflow/engine/read_pool.hpp"
#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

// What the daemon around the backend supplies.
struct BackendHooks {
  // Whether the broker is connected; empty when there is none (the embedded bus).
  std::function<bool()> broker_connected;
  // Called with a verified flow before it is stored and registered: makes the transport ready
  // for it (declares its services' queues, routes its events) and returns how many consumers
  // each of its services has (a service left out: unknown). Throws DeployRefused when the
  // transport cannot take it, NotServing when not now. Empty: nothing to do, nothing known.
  std::function<std::map<std::string, std::uint32_t>(const Plan& plan)> prepare_deploy;
  // Sends an outside event on the daemon's transport (Bus::send_outside_event,
  // OrchestratorTransport::send_outside_event). Empty: POST /api/events answers 503.
  std::function<std::future<void>(Message event)> send_event;
  // Retention's preview and pass now (POST /api/purge). Empty: none runs here (503).
  std::function<std::vector<PurgeGroup>(const PurgeScope& scope)> purge_preview;
  std::function<std::future<std::vector<PurgeGroup>>(const PurgeScope& scope)> purge;
  // The orchestrator's committed changes (OrchestratorOptions::on_committed feeds it); null:
  // no event stream, and waiting starts poll the store.
  SagaChangeFeed* changes = nullptr;
  // How many workers consume each service's commands (the transport: OrchestratorTransport,
  // inproc::Bus). Null: consumers are not known, and no service is warned about.
  ServiceQueues* service_queues = nullptr;
  // Several orchestrators: a partition's live owner and its admin URL (PartitionedStore::owner_of
  // on a connection other than the orchestrator's). Empty: requests are not forwarded.
  std::function<std::optional<PartitionOwner>(int partition)> owner_of;
  // Where the reads go (sagaflowd: a ReadPool on connections of their own). Null: the store.
  SagaReads* reads = nullptr;
};

class AdminBackendImpl final : public AdminBackend {
 public:
  // `flows` is the registry the orchestrator runs; every argument must outlive the backend.
  AdminBackendImpl(Orchestrator& orchestrator, Store& store, FlowRegistry& flows,
                   const Clock& clock, BackendHooks hooks = {});

  std::future<StartResult> start(StartRequest request) override;
  std::future<void> cancel(std::string saga_id, std::string reason) override;
  std::future<void> retry(std::string saga_id) override;
  std::future<void> pause(std::string saga_id, std::string reason) override;
  std::future<void> resume(std::string saga_id) override;
  void set_flow_paused(const std::string& flow, bool paused) override;
  std::vector<std::string> paused_flows() override;
  void save_schedule(ScheduleRow schedule) override;
  std::vector<ScheduleRow> schedules() override;
  bool set_schedule_paused(const std::string& name, bool paused) override;
  bool remove_schedule(const std::string& name) override;
  void append_audit(const AuditEntry& entry) override;
  std::vector<AuditEntry> audit(std::optional<std::uint64_t> before, std::size_t limit) override;
  std::future<void> skip(SkipRequest request) override;
  std::future<void> edit(EditRequest request) override;
  std::future<void> send_event(Message event) override;
  std::optional<SagaRow> saga(std::string_view id) override;
  std::vector<HistoryRow> history(std::string_view id) override;
  std::vector<SagaRow> list(const SagaFilter& filter) override;
  std::vector<SagaCount> counts() override;
  const FlowRegistry& flows() override;
  std::optional<std::string> flow_source(std::string_view name, int version) override;
  DeployResult deploy(std::shared_ptr<const flow::Flow> flow, const std::string& source) override;
  Readiness readiness() override;
  Gauges gauges() override;
  std::vector<ServiceHealth> services() override;
  std::vector<ServiceHealth> last_services() override;
  std::optional<PartitionOwner> owner_of(int partition) override;
  std::vector<PurgeGroup> purge_preview(const PurgeScope& scope) override;
  std::future<std::vector<PurgeGroup>> purge(const PurgeScope& scope) override;
  SagaChangeFeed* changes() override { return hooks_.changes; }

 private:
  // The services of `plan` that no registered flow uses and that have no consumer.
  std::vector<DeployWarning> unserved_new_services(
      const Plan& plan, const std::map<std::string, std::uint32_t>& consumers) const;

  Orchestrator& orchestrator_;
  Store& store_;
  FlowRegistry& flows_;
  const Clock& clock_;
  BackendHooks hooks_;
  StoreReads store_reads_;
  SagaReads& reads_;
  std::mutex deploy_mutex_;
  std::mutex services_mutex_;
  std::vector<ServiceHealth> last_services_;
};

// ---------------------------------------------------------------------------------------------
// Flows at start-up: the daemon loads what was deployed before (from the store) and the flow
// files (which it stores, so that other orchestrators and later restarts find them).

// A flow that could not be loaded, with why (every line of the loader's diagnostics).
struct FlowProblem {
  std::string where;  // "store: NAME vVERSION" or the file's path
  std::vector<std::string> messages;
};

// Registers every flow version stored in the store. Returns those the loader refuses now.
std::vector<FlowProblem> load_deployed_flows(Store& store, FlowRegistry& flows);

// Loads one flow file, stores it (deployed_at = now) and registers it. A file whose name and
// version are already stored with another text is refused (a version never changes under the
// sagas that run on it): bump its version.
struct LoadedFile {
  std::shared_ptr<const flow::Flow> flow;  // null when refused
  FlowProblem problem;
};
LoadedFile load_flow_file(const std::string& path, Store& store, FlowRegistry& flows,
                          Timestamp now);

}  // namespace sagaflow::http
