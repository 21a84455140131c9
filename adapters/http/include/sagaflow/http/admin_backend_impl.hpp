#pragma once
// The admin API's backend over the engine: requests go to the Orchestrator, reads to SagaReads
// (a ReadPool of their own, or the Store), flows to the FlowRegistry (and deploys to both the
// store and the registry).
//
// Threading: every member may be called from any thread (the Orchestrator's requests, the
// Store and the FlowRegistry are); deploys are serialised among themselves.
#include <functional>
#include <mutex>
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
  // for it (routes its events), or throws DeployRefused when it cannot take it without a
  // restart. Empty: nothing to do.
  std::function<void(const Plan& plan)> prepare_deploy;
  // The orchestrator's committed changes (OrchestratorOptions::on_committed feeds it); null:
  // no event stream, and waiting starts poll the store.
  SagaChangeFeed* changes = nullptr;
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
  std::optional<SagaRow> saga(std::string_view id) override;
  std::vector<HistoryRow> history(std::string_view id) override;
  std::vector<SagaRow> list(const SagaFilter& filter) override;
  std::vector<SagaCount> counts() override;
  const FlowRegistry& flows() override;
  std::optional<std::string> flow_source(std::string_view name, int version) override;
  Deployed deploy(std::shared_ptr<const flow::Flow> flow, const std::string& source) override;
  Readiness readiness() override;
  Gauges gauges() override;
  SagaChangeFeed* changes() override { return hooks_.changes; }

 private:
  Orchestrator& orchestrator_;
  Store& store_;
  FlowRegistry& flows_;
  const Clock& clock_;
  BackendHooks hooks_;
  StoreReads store_reads_;
  SagaReads& reads_;
  std::mutex deploy_mutex_;
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
