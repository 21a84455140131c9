#include "serving_backend.hpp"

namespace sagaflowd {

using namespace sagaflow;
using http::AdminBackend;

AdminBackend& ServingBackend::real() const {
  auto* backend = real_.load();
  if (backend == nullptr) {
    auto why = dependencies_.readiness();
    throw http::NotServing(
        "sagaflowd is starting" +
        (why.store.empty() ? std::string() : "; the store is not ready: " + why.store) +
        (why.broker.empty() ? std::string() : "; the broker is not ready: " + why.broker));
  }
  return *backend;
}

std::future<StartResult> ServingBackend::start(StartRequest request) {
  return real().start(std::move(request));
}

std::future<void> ServingBackend::cancel(std::string saga_id, std::string reason) {
  return real().cancel(std::move(saga_id), std::move(reason));
}

std::future<void> ServingBackend::retry(std::string saga_id) {
  return real().retry(std::move(saga_id));
}

std::future<void> ServingBackend::pause(std::string saga_id, std::string reason) {
  return real().pause(std::move(saga_id), std::move(reason));
}

std::future<void> ServingBackend::resume(std::string saga_id) {
  return real().resume(std::move(saga_id));
}

void ServingBackend::set_flow_paused(const std::string& flow, bool paused) {
  real().set_flow_paused(flow, paused);
}

std::vector<std::string> ServingBackend::paused_flows() {
  return real().paused_flows();
}

void ServingBackend::save_schedule(ScheduleRow schedule) {
  real().save_schedule(std::move(schedule));
}

std::vector<ScheduleRow> ServingBackend::schedules() {
  return real().schedules();
}

bool ServingBackend::set_schedule_paused(const std::string& name, bool paused) {
  return real().set_schedule_paused(name, paused);
}

bool ServingBackend::remove_schedule(const std::string& name) {
  return real().remove_schedule(name);
}

void ServingBackend::append_audit(const sagaflow::AuditEntry& entry) {
  real().append_audit(entry);
}

std::vector<sagaflow::AuditEntry> ServingBackend::audit(std::optional<std::uint64_t> before,
                                                        std::size_t limit) {
  return real().audit(before, limit);
}

std::future<void> ServingBackend::skip(sagaflow::SkipRequest request) {
  return real().skip(std::move(request));
}

std::future<void> ServingBackend::edit(sagaflow::EditRequest request) {
  return real().edit(std::move(request));
}

std::future<void> ServingBackend::send_event(Message event) {
  return real().send_event(std::move(event));
}

std::optional<SagaRow> ServingBackend::saga(std::string_view id) {
  return real().saga(id);
}

std::vector<HistoryRow> ServingBackend::history(std::string_view id) {
  return real().history(id);
}

std::vector<SagaRow> ServingBackend::list(const SagaFilter& filter) {
  return real().list(filter);
}

std::vector<SagaCount> ServingBackend::counts() {
  return real().counts();
}

const FlowRegistry& ServingBackend::flows() {
  return real().flows();
}

std::optional<std::string> ServingBackend::flow_source(std::string_view name, int version) {
  return real().flow_source(name, version);
}

http::DeployResult ServingBackend::deploy(std::shared_ptr<const flow::Flow> flow,
                                          const std::string& source) {
  return real().deploy(std::move(flow), source);
}

// What the adapters last reported; the store is probed only while it is believed up (a probe of
// a store that is down would wait for its reconnect timeout).
http::Readiness ServingBackend::readiness() {
  auto r = dependencies_.readiness();
  auto* backend = real_.load();
  if (backend == nullptr) {
    if (r.ready()) r.store = "starting: loading flows and recovering";
    return r;
  }
  if (r.store.empty()) r.store = backend->readiness().store;
  return r;
}

http::Gauges ServingBackend::gauges() {
  auto* backend = real_.load();
  return backend == nullptr ? http::Gauges{} : backend->gauges();
}

std::vector<sagaflow::PurgeGroup> ServingBackend::purge_preview(const sagaflow::PurgeScope& scope) {
  return real().purge_preview(scope);
}

std::future<std::vector<sagaflow::PurgeGroup>> ServingBackend::purge(
    const sagaflow::PurgeScope& scope) {
  return real().purge(scope);
}

}  // namespace sagaflowd
