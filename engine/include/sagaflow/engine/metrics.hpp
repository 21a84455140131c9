#pragma once
// The metrics port: what the orchestrator reports as it runs. Each call is made on the
// orchestrator's thread, after the commit it describes (a saga counted as started is stored);
// an implementation that is read from elsewhere (a Prometheus scrape) must be thread-safe.
// Gauges (sagas in flight, outbox lag) are not pushed: readers ask the Orchestrator when they
// need them (Orchestrator::cached_sagas, Orchestrator::outbox_lag). Dead letters are reported by
// the transport that makes them, the orchestrator's and its own (DeadLetterObserver).
//
// This base class is the no-op default: every call does nothing, so an implementation overrides
// only what it records.
#include <cstdint>
#include <optional>
#include <string_view>

#include "sagaflow/engine/lifecycle.hpp"
#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

class Metrics {
 public:
  virtual ~Metrics() = default;

  // A new saga of `flow` was committed.
  virtual void saga_started(std::string_view /*flow*/) {}
  // A saga reached `status`: completed, compensated or cancelled (final), or failed (parked
  // for an operator; a saga retried and parked again is counted again).
  virtual void saga_finished(std::string_view /*flow*/, Status /*status*/) {}
  // A saga was paused: `by` is "operator" (a pause request, for one saga or in bulk) or "flow"
  // (a start held because its flow is paused). A paused saga was resumed (by an operator, or
  // because its flow was resumed).
  virtual void saga_paused(std::string_view /*flow*/, std::string_view /*by*/) {}
  virtual void saga_resumed(std::string_view /*flow*/) {}
  // A command's reply arrived `latency` after the command was published. `step` is the step's
  // name (a foreach item or an each_event command counts under its step). Compensations are
  // not timed.
  virtual void step_replied(std::string_view /*flow*/, std::string_view /*step*/,
                            Duration /*latency*/) {}

  // Retention (retention.hpp), called on the thread that runs it: a batch removed `sagas`
  // finished sagas of `flow` in `status` and `history_rows` rows of their history.
  virtual void sagas_removed(std::string_view /*flow*/, Status /*status*/, std::uint64_t /*sagas*/,
                             std::uint64_t /*history_rows*/) {}
  // After each pass: how long ago the oldest finished saga kept of `flow` in `status` last
  // changed; nullopt when none is kept.
  virtual void oldest_finished_kept(std::string_view /*flow*/, Status /*status*/,
                                    std::optional<Duration> /*age*/) {}
};

}  // namespace sagaflow
