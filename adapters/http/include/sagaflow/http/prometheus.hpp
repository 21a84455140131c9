#pragma once
// The engine's Metrics port kept for Prometheus: counters per flow, a histogram of step
// latency per flow and step, dead letters by reason (as the transports' DeadLetterObserver),
// rendered in the text exposition format (version 0.0.4) with the gauges read at scrape time.
//
// Threading: the orchestrator records on its thread while a scrape renders on another. Every
// count is an atomic; the maps of series take a lock only to add a series (a new flow or step),
// so recording an existing series never waits for a scrape.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "sagaflow/engine/dead_letter.hpp"
#include "sagaflow/engine/metrics.hpp"
#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

class PrometheusMetrics final : public Metrics, public DeadLetterObserver {
 public:
  // Upper bounds of the step duration buckets, in seconds (then +Inf).
  static constexpr std::array<double, 14> kBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,     2.5,  5,     10,   30,  60};

  void saga_started(std::string_view flow) override;
  void saga_finished(std::string_view flow, Status status) override;
  void saga_paused(std::string_view flow, std::string_view by) override;
  void saga_resumed(std::string_view flow) override;
  void step_replied(std::string_view flow, std::string_view step, Duration latency) override;
  // Counts under the notice's code; told by the transports, for every dead letter they make.
  void dead_lettered(const DeadLetterNotice& notice) override;
  // Retention, by flow and status: rows removed, and the oldest finished saga kept.
  void sagas_removed(std::string_view flow, Status status, std::uint64_t sagas,
                     std::uint64_t history_rows) override;
  void oldest_finished_kept(std::string_view flow, Status status,
                            std::optional<Duration> age) override;

  // Every metric in the text format, the gauges included.
  std::string render(const Gauges& gauges) const;

 private:
  struct FlowCounters {
    std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint64_t> completed{0};
    std::atomic<std::uint64_t> compensated{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> cancelled{0};
    std::atomic<std::uint64_t> paused_by_operator{0};
    std::atomic<std::uint64_t> paused_by_flow{0};
    std::atomic<std::uint64_t> resumed{0};
  };
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> buckets{};  // last: +Inf
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_micros{0};
  };
  using StepHistograms = std::map<std::string, std::unique_ptr<Histogram>, std::less<>>;

  FlowCounters& flow(std::string_view name);
  void render_retention(std::string& out) const;
  Histogram& histogram(std::string_view flow, std::string_view step);

  mutable std::shared_mutex mutex_;  // guards the maps' shape, not the counts
  std::map<std::string, std::unique_ptr<FlowCounters>, std::less<>> flows_;
  std::map<std::string, StepHistograms, std::less<>> steps_;
  // By DeadLetterCode, every code always rendered (0 until one happens).
  std::array<std::atomic<std::uint64_t>, kDeadLetterCodes.size()> dead_lettered_{};
  // Retention's series by (flow, status): recorded a few times a minute, under a lock of their
  // own.
  struct RetentionSeries {
    std::uint64_t sagas = 0;
    std::uint64_t history = 0;
    std::optional<Duration> oldest;
  };
  mutable std::mutex retention_mutex_;
  std::map<std::pair<std::string, std::string>, RetentionSeries> retention_;
};

}  // namespace sagaflow::http
