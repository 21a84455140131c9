#include "sagaflow/engine/retention.hpp"

#include <algorithm>
#include <map>

#include "sagaflow/json.hpp"

namespace sagaflow {

namespace {

const KeepFor& default_for(const RetentionDefaults& defaults, Status status) {
  if (status == Status::compensated) return defaults.compensated;
  if (status == Status::cancelled) return defaults.cancelled;
  return defaults.completed;
}

const std::optional<KeepFor>& own_for(const flow::Retention& retention, Status status) {
  if (status == Status::compensated) return retention.compensated;
  if (status == Status::cancelled) return retention.cancelled;
  return retention.completed;
}

// A child saga (sub-flows) stays while its parent has not ended: the parent may still compensate
// it, and a removed child would leave its effects standing (the parent would read `ChildGone`).
// A parked parent has not ended either: an operator's retry may compensate. Only a child's state
// names a parent, so only a child costs a load.
bool parent_still_needs(Store& store, const SagaRow& row) {
  if (row.state.find("\"parent\"") == std::string::npos) return false;
  boost::system::error_code ec;
  const auto state = json::parse(row.state, ec);
  if (ec || !state.is_object()) return false;
  const auto* parent = state.get_object().if_contains("parent");
  if (parent == nullptr || !parent->is_object()) return false;
  const auto* id = parent->get_object().if_contains("id");
  if (id == nullptr || !id->is_string()) return false;
  const auto found = store.load(std::string_view(id->get_string()));
  return found && found->status != "completed" && found->status != "compensated" &&
         found->status != "cancelled";
}

// How many of the oldest created sagas the oldest-kept scan reads at a time.
constexpr std::size_t kOldestPage = 50;

}  // namespace

std::chrono::milliseconds retention_pause(std::chrono::milliseconds pause,
                                          std::chrono::nanoseconds took) {
  const auto yield = std::chrono::ceil<std::chrono::milliseconds>(took * kRetentionYield);
  return std::max(pause, yield);
}

std::vector<RetentionRule> retention_rules(const FlowRegistry& flows,
                                           const RetentionDefaults& defaults) {
  // all() is by name then version: the last plan of a name is its latest version.
  std::map<std::string, const flow::Flow*> latest;
  for (const auto& plan : flows.all()) latest[plan->flow().name] = &plan->flow();
  std::vector<RetentionRule> rules;
  for (const auto& entry : latest) {
    for (Status status : kRemovableStatuses) {
      const auto& own = own_for(entry.second->retention, status);
      rules.push_back({entry.first, status, own ? *own : default_for(defaults, status)});
    }
  }
  return rules;
}

Retention::Retention(Store& store, const FlowRegistry& flows, const Clock& clock,
                     RetentionOptions options, RetentionArchive* archive, Metrics* metrics,
                     std::function<std::vector<int>()> partitions)
    : store_(store),
      flows_(flows),
      clock_(clock),
      options_(options),
      archive_(archive),
      metrics_(metrics),
      partitions_(std::move(partitions)) {
  if (options_.batch == 0) options_.batch = 1;
}

std::vector<RetentionRule> Retention::rules_in(const PurgeScope& scope) const {
  auto rules = retention_rules(flows_, options_.defaults);
  std::erase_if(rules, [&](const RetentionRule& r) {
    return (!scope.flow.empty() && r.flow != scope.flow) ||
           (scope.status && r.status != *scope.status);
  });
  return rules;
}

std::vector<int> Retention::partitions() const {
  return partitions_ ? partitions_() : std::vector<int>{};
}

void Retention::begin_pass(const PurgeScope& scope) {
  active_ = true;
  started_ = clock_.now();
  rules_ = rules_in(scope);
  rule_ = 0;
  cursor_.reset();
  removed_.clear();
}

bool Retention::step() {
  if (!active_) begin_pass();
  try {
    while (rule_ < rules_.size()) {
      const auto& rule = rules_[rule_];
      if (rule.keep.forever) {
        ++rule_;
        continue;
      }
      FinishedFilter filter{.flow = rule.flow,
                            .status = to_string(rule.status),
                            .changed_before = started_ - rule.keep.age,
                            .after = cursor_,
                            .limit = options_.batch,
                            .partitions = partitions()};
      auto rows = store_.finished(filter);
      if (rows.empty()) {
        ++rule_;
        cursor_.reset();
        continue;
      }
      // Past this batch whatever becomes of it: a saga that stays (something named it since)
      // is not read again in this pass.
      cursor_ = SagaCursor{rows.back().created_at, rows.back().id};
      const auto batch_size = rows.size();
      std::erase_if(rows, [&](const SagaRow& row) { return parent_still_needs(store_, row); });
      if (archive_ != nullptr) {
        std::vector<ArchivedSaga> archived;
        archived.reserve(rows.size());
        for (auto& row : rows) archived.push_back({row, store_.history(row.id)});
        archive_->write(archived);
      }
      const auto removed = store_.remove_finished(rows);
      if (removed.sagas > 0) {
        if (removed_.empty() || removed_.back().flow != rule.flow ||
            removed_.back().status != rule.status) {
          removed_.push_back(
              PurgeGroup{.flow = rule.flow, .status = rule.status, .keep = rule.keep});
        }
        removed_.back().sagas += removed.sagas;
        removed_.back().history += removed.history;
        if (metrics_)
          metrics_->sagas_removed(rule.flow, rule.status, removed.sagas, removed.history);
      }
      if (batch_size < options_.batch) {
        ++rule_;
        cursor_.reset();
      }
      return true;
    }
  } catch (...) {
    active_ = false;
    throw;
  }
  end_pass();
  return false;
}

void Retention::end_pass() {
  active_ = false;
  report_oldest();
}

std::vector<PurgeGroup> Retention::preview(const PurgeScope& scope) const {
  const auto now = clock_.now();
  std::vector<PurgeGroup> groups;
  for (const auto& rule : rules_in(scope)) {
    if (rule.keep.forever) continue;
    const auto found = store_.count_finished({.flow = rule.flow,
                                              .status = to_string(rule.status),
                                              .changed_before = now - rule.keep.age,
                                              .partitions = partitions()});
    if (found.count == 0) continue;
    groups.push_back(PurgeGroup{.flow = rule.flow,
                                .status = rule.status,
                                .keep = rule.keep,
                                .sagas = found.count,
                                .oldest = found.oldest});
  }
  return groups;
}

void Retention::report_oldest() {
  if (metrics_ == nullptr) return;
  const auto now = clock_.now();
  for (const auto& rule : rules_in({})) {
    // A saga's last change is never before its creation: once the sagas read were created
    // after the earliest change seen, no later one can have changed earlier.
    std::optional<Timestamp> oldest;
    FinishedFilter filter{.flow = rule.flow,
                          .status = to_string(rule.status),
                          .changed_before = Timestamp::max(),
                          .limit = kOldestPage,
                          .partitions = partitions()};
    while (true) {
      const auto rows = store_.finished(filter);
      for (const auto& row : rows) {
        if (!oldest || row.updated_at < *oldest) oldest = row.updated_at;
      }
      if (rows.size() < kOldestPage || rows.back().created_at >= *oldest) break;
      filter.after = SagaCursor{rows.back().created_at, rows.back().id};
    }
    std::optional<Duration> age;
    if (oldest) age = std::max(Duration{0}, std::chrono::duration_cast<Duration>(now - *oldest));
    metrics_->oldest_finished_kept(rule.flow, rule.status, age);
  }
}

}  // namespace sagaflow
