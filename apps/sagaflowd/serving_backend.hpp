#pragma once
// The admin endpoint's backend from the moment sagaflowd starts: /healthz and /readyz answer
// while it still waits for PostgreSQL or the broker (readiness says which, since when, and the
// last error); every other request is refused with 503 until the orchestrator runs, and is then
// handed to the real backend (AdminBackendImpl).
//
// Threading: any thread; serve() once, before the real backend is used, and the real backend
// must outlive every request (stop the endpoint first).
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dependencies.hpp"
#include "sagaflow/http/admin_api.hpp"

namespace sagaflowd {

class ServingBackend final : public sagaflow::http::AdminBackend {
 public:
  explicit ServingBackend(const Dependencies& dependencies) : dependencies_(dependencies) {}

  // From now on requests go to `backend`.
  void serve(sagaflow::http::AdminBackend& backend) { real_.store(&backend); }

  std::future<sagaflow::StartResult> start(sagaflow::StartRequest request) override;
  std::future<void> cancel(std::string saga_id, std::string reason) override;
  std::future<void> retry(std::string saga_id) override;
  std::future<void> pause(std::string saga_id, std::string reason) override;
  std::future<void> resume(std::string saga_id) override;
  void set_flow_paused(const std::string& flow, bool paused) override;
  std::vector<std::string> paused_flows() override;
  void save_schedule(sagaflow::ScheduleRow schedule) override;
  std::vector<sagaflow::ScheduleRow> schedules() override;
  bool set_schedule_paused(const std::string& name, bool paused) override;
  bool remove_schedule(const std::string& name) override;
  void append_audit(const sagaflow::AuditEntry& entry) override;
  std::vector<sagaflow::AuditEntry> audit(std::optional<std::uint64_t> before,
                                          std::size_t limit) override;
  std::future<void> skip(sagaflow::SkipRequest request) override;
  std::future<void> edit(sagaflow::EditRequest request) override;
  std::future<void> send_event(sagaflow::Message event) override;
  std::optional<sagaflow::SagaRow> saga(std::string_view id) override;
  std::vector<sagaflow::HistoryRow> history(std::string_view id) override;
  std::vector<sagaflow::SagaRow> list(const sagaflow::SagaFilter& filter) override;
  std::vector<sagaflow::SagaCount> counts() override;
  const sagaflow::FlowRegistry& flows() override;
  std::optional<std::string> flow_source(std::string_view name, int version) override;
  sagaflow::http::DeployResult deploy(std::shared_ptr<const sagaflow::flow::Flow> flow,
                                      const std::string& source) override;
  sagaflow::http::Readiness readiness() override;
  sagaflow::http::Gauges gauges() override;
  std::vector<sagaflow::ServiceHealth> services() override { return real().services(); }
  std::vector<sagaflow::ServiceHealth> last_services() override {
    auto* real = real_.load();
    return real ? real->last_services() : std::vector<sagaflow::ServiceHealth>{};
  }
  std::optional<sagaflow::PartitionOwner> owner_of(int partition) override {
    return real().owner_of(partition);
  }
  std::vector<sagaflow::PurgeGroup> purge_preview(const sagaflow::PurgeScope& scope) override;
  std::future<std::vector<sagaflow::PurgeGroup>> purge(const sagaflow::PurgeScope& scope) override;
  sagaflow::SagaChangeFeed* changes() override {
    auto* real = real_.load();
    return real ? real->changes() : nullptr;
  }

 private:
  // The real backend; throws (the API answers 503) while there is none.
  sagaflow::http::AdminBackend& real() const;

  const Dependencies& dependencies_;
  std::atomic<sagaflow::http::AdminBackend*> real_{nullptr};
};

}  // namespace sagaflowd
