#include "sagaflow/http/admin_backend_impl.hpp"

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "sagaflow/flow/loader.hpp"

namespace sagaflow::http {
namespace {

std::optional<FlowDefinitionRow> stored(std::vector<FlowDefinitionRow> definitions,
                                        std::string_view name, int version) {
  for (auto& d : definitions) {
    if (d.name == name && d.version == version) return std::move(d);
  }
  return std::nullopt;
}

std::vector<std::string> messages(const std::vector<flow::Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const auto& d : diagnostics) out.push_back(d.to_string());
  return out;
}

}  // namespace

AdminBackendImpl::AdminBackendImpl(Orchestrator& orchestrator, Store& store, FlowRegistry& flows,
                                   const Clock& clock, BackendHooks hooks)
    : orchestrator_(orchestrator),
      store_(store),
      flows_(flows),
      clock_(clock),
      hooks_(std::move(hooks)),
      store_reads_(store),
      reads_(hooks_.reads ? *hooks_.reads : static_cast<SagaReads&>(store_reads_)) {}

std::future<StartResult> AdminBackendImpl::start(StartRequest request) {
  return orchestrator_.start(std::move(request));
}

std::future<void> AdminBackendImpl::cancel(std::string saga_id, std::string reason) {
  return orchestrator_.cancel(std::move(saga_id), std::move(reason));
}

std::future<void> AdminBackendImpl::retry(std::string saga_id) {
  return orchestrator_.retry(std::move(saga_id));
}

std::future<void> AdminBackendImpl::pause(std::string saga_id, std::string reason) {
  return orchestrator_.pause(std::move(saga_id), std::move(reason));
}

std::future<void> AdminBackendImpl::resume(std::string saga_id) {
  return orchestrator_.resume(std::move(saga_id));
}

void AdminBackendImpl::set_flow_paused(const std::string& flow, bool paused) {
  orchestrator_.set_flow_paused(flow, paused);
}

std::vector<std::string> AdminBackendImpl::paused_flows() {
  return store_.paused_flows();
}

void AdminBackendImpl::save_schedule(ScheduleRow schedule) {
  orchestrator_.save_schedule(std::move(schedule));
}

std::vector<ScheduleRow> AdminBackendImpl::schedules() {
  return store_.schedules();
}

bool AdminBackendImpl::set_schedule_paused(const std::string& name, bool paused) {
  return orchestrator_.set_schedule_paused(name, paused);
}

bool AdminBackendImpl::remove_schedule(const std::string& name) {
  return orchestrator_.remove_schedule(name);
}

void AdminBackendImpl::append_audit(const AuditEntry& entry) {
  store_.append_audit(entry);
}

std::vector<AuditEntry> AdminBackendImpl::audit(std::optional<std::uint64_t> before,
                                                std::size_t limit) {
  return store_.audit(before, limit);
}

std::future<void> AdminBackendImpl::skip(SkipRequest request) {
  return orchestrator_.skip(std::move(request));
}

std::future<void> AdminBackendImpl::edit(EditRequest request) {
  return orchestrator_.edit(std::move(request));
}

std::future<void> AdminBackendImpl::send_event(Message event) {
  if (!hooks_.send_event) throw NotServing("this daemon cannot send events");
  return hooks_.send_event(std::move(event));
}

std::optional<SagaRow> AdminBackendImpl::saga(std::string_view id) {
  return reads_.load(id);
}

std::vector<HistoryRow> AdminBackendImpl::history(std::string_view id) {
  return reads_.history(id);
}

std::vector<SagaRow> AdminBackendImpl::list(const SagaFilter& filter) {
  return reads_.list(filter);
}

std::vector<SagaCount> AdminBackendImpl::counts() {
  return reads_.count_by_flow_and_status();
}

const FlowRegistry& AdminBackendImpl::flows() {
  return flows_;
}

std::optional<std::string> AdminBackendImpl::flow_source(std::string_view name, int version) {
  auto row = stored(reads_.flow_definitions(), name, version);
  if (!row) return std::nullopt;
  return std::move(row->source);
}

DeployResult AdminBackendImpl::deploy(std::shared_ptr<const flow::Flow> flow,
                                      const std::string& source) {
  std::lock_guard lock(deploy_mutex_);
  if (auto existing = stored(store_.flow_definitions(), flow->name, flow->version)) {
    if (existing->source != source) throw FlowVersionExists(flow->name, flow->version);
    if (!flows_.find(flow->name, flow->version)) flows_.add(std::move(flow));
    return DeployResult{Deployed::unchanged, {}};
  }
  // Registered but never stored (not through sagaflowd, which stores what it loads): its text
  // is unknown, so it cannot be told equal; and replacing a plan under running sagas is what a
  // version forbids.
  if (flows_.find(flow->name, flow->version)) throw FlowVersionExists(flow->name, flow->version);
  const Plan plan(flow);
  DeployResult result;
  if (hooks_.prepare_deploy) {
    const auto consumers = hooks_.prepare_deploy(plan);
    result.warnings = unserved_new_services(plan, consumers);
  }
  store_.save_flow_definition(FlowDefinitionRow{
      .name = flow->name, .version = flow->version, .source = source, .deployed_at = clock_.now()});
  flows_.add(std::move(flow));
  return result;
}

std::vector<DeployWarning> AdminBackendImpl::unserved_new_services(
    const Plan& plan, const std::map<std::string, std::uint32_t>& consumers) const {
  std::set<std::string> known;
  for (const auto& other : flows_.all())
    known.insert(other->services().begin(), other->services().end());
  std::vector<DeployWarning> warnings;
  for (const auto& service : plan.services()) {
    const auto found = consumers.find(service);
    if (known.contains(service) || found == consumers.end() || found->second > 0) continue;
    warnings.push_back(DeployWarning{
        service, "flow " + plan.flow().name + " sends commands to service " + service +
                     ", which no flow used before and which nothing consumes yet: is its name "
                     "misspelled? Its commands wait until a worker serves " +
                     service});
  }
  return warnings;
}

Readiness AdminBackendImpl::readiness() {
  Readiness r;
  if (auto why = reads_.probe()) r.store = std::move(*why);
  if (hooks_.broker_connected && !hooks_.broker_connected()) r.broker = "not connected";
  return r;
}

Gauges AdminBackendImpl::gauges() {
  return Gauges{.sagas_in_flight = orchestrator_.cached_sagas(),
                .outbox_lag = orchestrator_.outbox_lag(),
                .services = orchestrator_.service_loads(),
                .service_health = last_services()};
}

std::vector<ServiceHealth> AdminBackendImpl::services() {
  std::set<std::string> names;
  for (const auto& plan : flows_.all())
    names.insert(plan->services().begin(), plan->services().end());
  const auto loads = orchestrator_.service_loads();
  const auto replies = orchestrator_.last_replies();
  for (const auto& load : loads) names.insert(load.service);
  for (const auto& [name, at] : replies) names.insert(name);
  const std::vector<std::string> all(names.begin(), names.end());
  std::map<std::string, ServiceQueue> queues;
  if (hooks_.service_queues) {
    try {
      queues = hooks_.service_queues->service_queues(all);
    } catch (const std::exception&) {
      // The transport cannot tell now (the broker is away): consumers stay unknown, no warning.
    }
  }
  auto health = service_health(all, loads, queues, replies);
  std::lock_guard lock(services_mutex_);
  last_services_ = health;
  return health;
}

std::vector<ServiceHealth> AdminBackendImpl::last_services() {
  std::lock_guard lock(services_mutex_);
  return last_services_;
}

std::optional<PartitionOwner> AdminBackendImpl::owner_of(int partition) {
  if (!hooks_.owner_of) return std::nullopt;
  return hooks_.owner_of(partition);
}

std::vector<PurgeGroup> AdminBackendImpl::purge_preview(const PurgeScope& scope) {
  if (!hooks_.purge_preview) return AdminBackend::purge_preview(scope);
  return hooks_.purge_preview(scope);
}

std::future<std::vector<PurgeGroup>> AdminBackendImpl::purge(const PurgeScope& scope) {
  if (!hooks_.purge) return AdminBackend::purge(scope);
  return hooks_.purge(scope);
}

// ---------------------------------------------------------------------------------------------

std::vector<FlowProblem> load_deployed_flows(Store& store, FlowRegistry& flows) {
  std::vector<FlowProblem> problems;
  for (const auto& d : store.flow_definitions()) {
    const auto where = "store: " + d.name + " v" + std::to_string(d.version);
    auto result = flow::load_flow_text(d.source, where);
    if (!result.ok()) {
      problems.push_back(FlowProblem{where, messages(result.diagnostics)});
      continue;
    }
    if (result.flow->name != d.name || result.flow->version != d.version) {
      problems.push_back(FlowProblem{where,
                                     {where + ": the stored text declares " + result.flow->name +
                                      " v" + std::to_string(result.flow->version)}});
      continue;
    }
    flows.add(result.flow);
  }
  return problems;
}

LoadedFile load_flow_file(const std::string& path, Store& store, FlowRegistry& flows,
                          Timestamp now) {
  // Read once: the text stored is the text verified. The file loader reports what keeps a
  // file from being read (missing, too large) in its own words.
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in || size > flow::LoadLimits{}.max_bytes) {
    return LoadedFile{nullptr, {path, messages(flow::load_flow_file(path).diagnostics)}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  auto result = flow::load_flow_text(text.str(), path);
  if (!result.ok()) return LoadedFile{nullptr, {path, messages(result.diagnostics)}};
  try {
    store.save_flow_definition(FlowDefinitionRow{.name = result.flow->name,
                                                 .version = result.flow->version,
                                                 .source = text.str(),
                                                 .deployed_at = now});
  } catch (const FlowVersionExists& e) {
    return LoadedFile{nullptr, {path, {path + ": " + e.what() + "; give the file a new version"}}};
  }
  flows.add(result.flow);
  return LoadedFile{result.flow, {}};
}

}  // namespace sagaflow::http
