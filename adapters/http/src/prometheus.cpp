#include "sagaflow/http/prometheus.hpp"

#include <functional>

#include <cstdio>
#include <mutex>

namespace sagaflow::http {
namespace {

// A label value with \, " and newline escaped, as the text format asks.
std::string label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string number(double value, int precision) {
  char text[40];
  std::snprintf(text, sizeof text, "%.*g", precision, value);
  return text;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

PrometheusMetrics::FlowCounters& PrometheusMetrics::flow(std::string_view name) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = flows_.find(name); it != flows_.end()) return *it->second;
  }
  std::unique_lock lock(mutex_);
  auto& entry = flows_[std::string(name)];
  if (!entry) entry = std::make_unique<FlowCounters>();
  return *entry;
}

PrometheusMetrics::Histogram& PrometheusMetrics::histogram(std::string_view flow,
                                                           std::string_view step) {
  {
    std::shared_lock lock(mutex_);
    if (auto f = steps_.find(flow); f != steps_.end()) {
      if (auto s = f->second.find(step); s != f->second.end()) return *s->second;
    }
  }
  std::unique_lock lock(mutex_);
  auto& entry = steps_[std::string(flow)][std::string(step)];
  if (!entry) entry = std::make_unique<Histogram>();
  return *entry;
}

void PrometheusMetrics::saga_started(std::string_view flow_name) {
  flow(flow_name).started.fetch_add(1, std::memory_order_relaxed);
}

void PrometheusMetrics::saga_finished(std::string_view flow_name, Status status) {
  auto& counters = flow(flow_name);
  switch (status) {
    case Status::completed:
      counters.completed.fetch_add(1, std::memory_order_relaxed);
      break;
    case Status::compensated:
      counters.compensated.fetch_add(1, std::memory_order_relaxed);
      break;
    case Status::failed:
      counters.failed.fetch_add(1, std::memory_order_relaxed);
      break;
    case Status::cancelled:
      counters.cancelled.fetch_add(1, std::memory_order_relaxed);
      break;
    default:
      break;
  }
}

void PrometheusMetrics::saga_paused(std::string_view flow_name, std::string_view by) {
  auto& counters = flow(flow_name);
  (by == "flow" ? counters.paused_by_flow : counters.paused_by_operator)
      .fetch_add(1, std::memory_order_relaxed);
}

void PrometheusMetrics::saga_resumed(std::string_view flow_name) {
  flow(flow_name).resumed.fetch_add(1, std::memory_order_relaxed);
}

void PrometheusMetrics::step_replied(std::string_view flow_name, std::string_view step,
                                     Duration latency) {
  auto& h = histogram(flow_name, step);
  const double seconds = static_cast<double>(latency.count()) / 1000.0;
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  h.buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  h.sum_micros.fetch_add(static_cast<std::uint64_t>(latency.count()) * 1000,
                         std::memory_order_relaxed);
  h.count.fetch_add(1, std::memory_order_relaxed);
}

void PrometheusMetrics::dead_lettered(const DeadLetterNotice& notice) {
  dead_lettered_.at(static_cast<std::size_t>(notice.code)).fetch_add(1, std::memory_order_relaxed);
}

void PrometheusMetrics::sagas_removed(std::string_view flow_name, Status status,
                                      std::uint64_t sagas, std::uint64_t history_rows) {
  std::lock_guard lock(retention_mutex_);
  auto& series = retention_[{std::string(flow_name), to_string(status)}];
  series.sagas += sagas;
  series.history += history_rows;
}

void PrometheusMetrics::oldest_finished_kept(std::string_view flow_name, Status status,
                                             std::optional<Duration> age) {
  std::lock_guard lock(retention_mutex_);
  retention_[{std::string(flow_name), to_string(status)}].oldest = age;
}

std::string PrometheusMetrics::render(const Gauges& gauges) const {
  std::string out;
  std::shared_lock lock(mutex_);
  struct Counter {
    const char* name;
    const char* help;
    std::atomic<std::uint64_t> FlowCounters::*field;
  };
  static constexpr Counter kCounters[] = {
      {"sagaflow_sagas_started_total", "Sagas started.", &FlowCounters::started},
      {"sagaflow_sagas_completed_total", "Sagas completed.", &FlowCounters::completed},
      {"sagaflow_sagas_compensated_total", "Sagas compensated after a failure.",
       &FlowCounters::compensated},
      {"sagaflow_sagas_failed_total", "Sagas parked for an operator (failed).",
       &FlowCounters::failed},
      {"sagaflow_sagas_cancelled_total", "Sagas cancelled.", &FlowCounters::cancelled},
  };
  for (const auto& counter : kCounters) {
    header(out, counter.name, "counter", counter.help);
    for (const auto& [name, counters] : flows_) {
      out.append(counter.name).append("{flow=\"").append(label(name)).append("\"} ");
      out.append(std::to_string(((*counters).*counter.field).load(std::memory_order_relaxed)));
      out.push_back('\n');
    }
  }

  header(out, "sagaflow_saga_pauses_total", "counter",
         "Sagas paused, by flow and by whom: an operator (one saga or a bulk pause), or their "
         "flow (a start held while the flow is paused).");
  for (const auto& [name, counters] : flows_) {
    for (const auto& [by, field] : {std::pair{"operator", &FlowCounters::paused_by_operator},
                                    std::pair{"flow", &FlowCounters::paused_by_flow}}) {
      out.append("sagaflow_saga_pauses_total{flow=\"").append(label(name)).append("\",by=\"");
      out.append(by).append("\"} ");
      out.append(std::to_string(((*counters).*field).load(std::memory_order_relaxed)));
      out.push_back('\n');
    }
  }
  header(out, "sagaflow_saga_resumes_total", "counter",
         "Paused sagas resumed (by an operator, or their flow resumed), by flow.");
  for (const auto& [name, counters] : flows_) {
    out.append("sagaflow_saga_resumes_total{flow=\"").append(label(name)).append("\"} ");
    out.append(std::to_string(counters->resumed.load(std::memory_order_relaxed))).push_back('\n');
  }

  header(out, "sagaflow_step_duration_seconds", "histogram",
         "Time from a command's publishing to its reply, by flow and step.");
  for (const auto& [flow_name, steps] : steps_) {
    for (const auto& [step, h] : steps) {
      const auto labels = "flow=\"" + label(flow_name) + "\",step=\"" + label(step) + "\"";
      // Read the buckets first: the count printed is their sum, so the series stays consistent
      // while replies are recorded during the scrape.
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < h->buckets.size(); ++i) {
        cumulative += h->buckets[i].load(std::memory_order_relaxed);
        out.append("sagaflow_step_duration_seconds_bucket{").append(labels).append(",le=\"");
        out.append(i < kBuckets.size() ? number(kBuckets[i], 6) : "+Inf").append("\"} ");
        out.append(std::to_string(cumulative)).push_back('\n');
      }
      const double sum = static_cast<double>(h->sum_micros.load(std::memory_order_relaxed)) / 1e6;
      out.append("sagaflow_step_duration_seconds_sum{").append(labels).append("} ");
      out.append(number(sum, 9)).push_back('\n');
      out.append("sagaflow_step_duration_seconds_count{").append(labels).append("} ");
      out.append(std::to_string(cumulative)).push_back('\n');
    }
  }

  header(out, "sagaflow_sagas_in_flight", "gauge", "Sagas held in memory by the orchestrator.");
  out.append("sagaflow_sagas_in_flight ").append(std::to_string(gauges.sagas_in_flight));
  out.push_back('\n');
  header(out, "sagaflow_sagas_paused", "gauge",
         "Sagas paused now (by an operator, or held by a paused flow), by flow.");
  for (const auto& [name, count] : gauges.paused_sagas) {
    out.append("sagaflow_sagas_paused{flow=\"").append(label(name)).append("\"} ");
    out.append(std::to_string(count)).push_back('\n');
  }
  header(out, "sagaflow_outbox_lag", "gauge",
         "Outbox messages committed and not yet published (their publish failed).");
  out.append("sagaflow_outbox_lag ").append(std::to_string(gauges.outbox_lag)).push_back('\n');
  struct PerService {
    const char* name;
    const char* help;
    std::function<std::string(const ServiceLoad&)> value;
  };
  const PerService per_service[] = {
      {"sagaflow_service_commands_in_flight",
       "Commands of the service sent by this orchestrator and not answered yet.",
       [](const ServiceLoad& l) { return std::to_string(l.in_flight); }},
      {"sagaflow_service_commands_waiting",
       "Commands of the service waiting in the outbox for a slot (over the in-flight limit).",
       [](const ServiceLoad& l) { return std::to_string(l.waiting); }},
      {"sagaflow_service_oldest_waiting_seconds",
       "How long the service's oldest waiting command has waited for a slot.",
       [](const ServiceLoad& l) {
         return number(static_cast<double>(l.oldest_waiting_age.count()) / 1e3, 3);
       }},
  };
  for (const auto& metric : per_service) {
    header(out, metric.name, "gauge", metric.help);
    for (const auto& load : gauges.services) {
      out.append(metric.name).append("{service=\"").append(label(load.service)).append("\"} ");
      out.append(metric.value(load)).push_back('\n');
    }
  }
  header(out, "sagaflow_service_consumers", "gauge",
         "Workers consuming the service's commands, as last seen (absent while not known).");
  std::size_t unserved = 0;
  for (const auto& h : gauges.service_health) {
    if (h.without_consumer) ++unserved;
    if (!h.consumers) continue;
    out.append("sagaflow_service_consumers{service=\"").append(label(h.service)).append("\"} ");
    out.append(std::to_string(*h.consumers)).push_back('\n');
  }
  header(out, "sagaflow_services_without_consumer", "gauge",
         "Services with commands in flight or waiting and no consumer (a warning).");
  out.append("sagaflow_services_without_consumer ").append(std::to_string(unserved));
  out.push_back('\n');
  header(out, "sagaflow_dead_lettered_total", "counter",
         "Messages sent to the dead letters, by reason code, whoever gave up on them.");
  for (const auto code : kDeadLetterCodes) {
    out.append("sagaflow_dead_lettered_total{reason=\"").append(to_string(code)).append("\"} ");
    out.append(std::to_string(
        dead_lettered_[static_cast<std::size_t>(code)].load(std::memory_order_relaxed)));
    out.push_back('\n');
  }
  render_retention(out);
  return out;
}

void PrometheusMetrics::render_retention(std::string& out) const {
  std::lock_guard lock(retention_mutex_);
  auto labels = [](const std::pair<std::string, std::string>& key) {
    return "{flow=\"" + label(key.first) + "\",status=\"" + key.second + "\"} ";
  };
  header(out, "sagaflow_retention_removed_sagas_total", "counter",
         "Finished sagas removed by retention, by flow and status.");
  for (const auto& [key, series] : retention_) {
    out.append("sagaflow_retention_removed_sagas_total").append(labels(key));
    out.append(std::to_string(series.sagas)).push_back('\n');
  }
  header(out, "sagaflow_retention_removed_history_rows_total", "counter",
         "History rows removed with those sagas, by flow and status.");
  for (const auto& [key, series] : retention_) {
    out.append("sagaflow_retention_removed_history_rows_total").append(labels(key));
    out.append(std::to_string(series.history)).push_back('\n');
  }
  header(out, "sagaflow_retention_oldest_finished_seconds", "gauge",
         "Age of the oldest finished saga kept (since its last change), by flow and status, as "
         "of the last retention pass.");
  for (const auto& [key, series] : retention_) {
    if (!series.oldest) continue;
    out.append("sagaflow_retention_oldest_finished_seconds").append(labels(key));
    out.append(number(static_cast<double>(series.oldest->count()) / 1000.0, 12)).push_back('\n');
  }
}

}  // namespace sagaflow::http
