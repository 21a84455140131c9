#pragma once
// An AdminBackend that hands every call to another one: a test overrides the calls it watches
// or slows down (counting the store reads a waiting start makes, holding list requests).
#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::testing {

class ForwardingBackend : public http::AdminBackend {
 public:
  explicit ForwardingBackend(http::AdminBackend& real) : real_(real) {}

  std::future<StartResult> start(StartRequest r) override { return real_.start(std::move(r)); }
  std::future<void> cancel(std::string id, std::string why) override {
    return real_.cancel(std::move(id), std::move(why));
  }
  std::future<void> retry(std::string id) override { return real_.retry(std::move(id)); }
  std::future<void> pause(std::string id, std::string why) override {
    return real_.pause(std::move(id), std::move(why));
  }
  std::future<void> resume(std::string id) override { return real_.resume(std::move(id)); }
  void set_flow_paused(const std::string& flow, bool paused) override {
    real_.set_flow_paused(flow, paused);
  }
  std::vector<std::string> paused_flows() override { return real_.paused_flows(); }
  void save_schedule(ScheduleRow schedule) override { real_.save_schedule(std::move(schedule)); }
  std::vector<ScheduleRow> schedules() override { return real_.schedules(); }
  bool set_schedule_paused(const std::string& name, bool paused) override {
    return real_.set_schedule_paused(name, paused);
  }
  bool remove_schedule(const std::string& name) override { return real_.remove_schedule(name); }
  void append_audit(const AuditEntry& entry) override { real_.append_audit(entry); }
  std::vector<AuditEntry> audit(std::optional<std::uint64_t> before, std::size_t limit) override {
    return real_.audit(before, limit);
  }
  std::future<void> skip(SkipRequest r) override { return real_.skip(std::move(r)); }
  std::future<void> edit(EditRequest r) override { return real_.edit(std::move(r)); }
  std::future<void> send_event(Message event) override {
    return real_.send_event(std::move(event));
  }
  std::optional<SagaRow> saga(std::string_view id) override { return real_.saga(id); }
  std::vector<HistoryRow> history(std::string_view id) override { return real_.history(id); }
  std::vector<SagaRow> list(const SagaFilter& f) override { return real_.list(f); }
  std::vector<SagaCount> counts() override { return real_.counts(); }
  const FlowRegistry& flows() override { return real_.flows(); }
  std::optional<std::string> flow_source(std::string_view name, int version) override {
    return real_.flow_source(name, version);
  }
  http::DeployResult deploy(std::shared_ptr<const flow::Flow> f,
                            const std::string& source) override {
    return real_.deploy(std::move(f), source);
  }
  http::Readiness readiness() override { return real_.readiness(); }
  http::Gauges gauges() override { return real_.gauges(); }
  std::vector<ServiceHealth> services() override { return real_.services(); }
  std::vector<ServiceHealth> last_services() override { return real_.last_services(); }
  std::optional<PartitionOwner> owner_of(int partition) override {
    return real_.owner_of(partition);
  }
  std::vector<PurgeGroup> purge_preview(const PurgeScope& scope) override {
    return real_.purge_preview(scope);
  }
  std::future<std::vector<PurgeGroup>> purge(const PurgeScope& scope) override {
    return real_.purge(scope);
  }
  SagaChangeFeed* changes() override { return real_.changes(); }

 private:
  http::AdminBackend& real_;
};

}  // namespace sagaflow::testing
