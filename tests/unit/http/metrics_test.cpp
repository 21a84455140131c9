// /metrics: the Prometheus text format, parsed back, counts what the orchestrator did.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "api_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// Every sample of a text-format scrape, by its name with labels, e.g.
// `sagaflow_sagas_completed_total{flow="order"}`; fails on a line that is not one.
std::map<std::string, double> parse_samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream in(text);
  std::string line;
  std::set<std::string> typed;
  while (std::getline(in, line)) {
    if (line.starts_with("# TYPE ")) {
      std::istringstream words(line.substr(7));
      std::string name, type;
      words >> name >> type;
      CHECK((type == "counter" || type == "gauge" || type == "histogram"));
      typed.insert(name);
      continue;
    }
    if (line.starts_with("# HELP ")) continue;
    REQUIRE_FALSE(line.empty());
    const auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    const auto series = line.substr(0, space);
    const auto name = series.substr(0, series.find('{'));
    bool declared = typed.contains(name);
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(suffix)) {
        declared = declared || typed.contains(name.substr(0, name.size() - strlen(suffix)));
      }
    }
    CHECK_MESSAGE(declared, "no # TYPE before " << line);
    samples[series] = std::stod(line.substr(space + 1));
  }
  return samples;
}

}  // namespace

TEST_CASE("/metrics parses as Prometheus text and counts a completed saga") {
  ApiWorld w;
  w.start(1);  // stays in flight
  auto id = w.start(2);
  w.clock.advance(std::chrono::milliseconds(20));
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), id);
  w.answer("billing.charge", worker::Result::ok(), id);
  w.answer("shipping.ship", worker::Result::ok(), id);
  REQUIRE(w.status_of(id) == "completed");

  auto res = w.call(verb::get, "/metrics");
  CHECK(res.result() == status::ok);
  CHECK(res[field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
  auto samples = parse_samples(res.body());
  CHECK(samples[R"(sagaflow_sagas_started_total{flow="order"})"] == 2);
  CHECK(samples[R"(sagaflow_sagas_completed_total{flow="order"})"] == 1);
  CHECK(samples[R"(sagaflow_sagas_compensated_total{flow="order"})"] == 0);
  CHECK(samples[R"(sagaflow_sagas_failed_total{flow="order"})"] == 0);
  CHECK(samples["sagaflow_sagas_in_flight"] == 1);
  CHECK(samples["sagaflow_outbox_lag"] == 0);
  for (auto code : kDeadLetterCodes) {
    CAPTURE(to_string(code));
    // Every code is there from the start, at 0, so that a rate over it is defined.
    const auto series =
        std::string(R"(sagaflow_dead_lettered_total{reason=")") + to_string(code) + R"("})";
    REQUIRE(samples.contains(series));
    CHECK(samples[series] == 0);
  }

  // reserve was answered 20 ms after it was sent: in the 0.025 bucket, not the 0.01 one.
  const std::string reserve = R"(flow="order",step="reserve")";
  CHECK(samples["sagaflow_step_duration_seconds_count{" + reserve + "}"] == 1);
  CHECK(samples["sagaflow_step_duration_seconds_sum{" + reserve + "}"] == doctest::Approx(0.02));
  CHECK(samples["sagaflow_step_duration_seconds_bucket{" + reserve + R"(,le="0.01"})"] == 0);
  CHECK(samples["sagaflow_step_duration_seconds_bucket{" + reserve + R"(,le="0.025"})"] == 1);
  CHECK(samples["sagaflow_step_duration_seconds_bucket{" + reserve + R"(,le="+Inf"})"] == 1);
  CHECK(samples[R"(sagaflow_step_duration_seconds_count{flow="order",step="ship"})"] == 1);
}

TEST_CASE("/metrics counts compensated and parked sagas, and dead-lettered inputs") {
  ApiWorld w;
  auto compensated = w.start(1);
  w.answer("stock.reserve", worker::Result::business_failure("OutOfStock"), compensated);
  REQUIRE(w.status_of(compensated) == "compensated");
  auto parked = w.start(2);
  w.answer("stock.reserve", worker::Result::ok({{"hold", "h"}}), parked);
  w.answer("billing.charge", worker::Result::ok(), parked);
  w.answer("shipping.ship", worker::Result::business_failure("NoCourier"), parked);
  REQUIRE(w.status_of(parked) == "failed");
  Message stray;
  stray.kind = MessageKind::reply;
  stray.id = "stray";
  stray.correlation_id = "no-such-saga";
  w.transport.deliver(stray);
  w.orchestrator.run_once(0ms);

  auto samples = parse_samples(w.call(verb::get, "/metrics").body());
  CHECK(samples[R"(sagaflow_sagas_compensated_total{flow="order"})"] == 1);
  CHECK(samples[R"(sagaflow_sagas_failed_total{flow="order"})"] == 1);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="unknown_saga"})"] == 1);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="unmatched_event"})"] == 0);
  CHECK(samples["sagaflow_sagas_in_flight"] == 0);
}

TEST_CASE("sagaflow_outbox_lag counts what was committed but could not be published yet") {
  ApiWorld w;
  w.transport.fail_publish = true;
  w.start(1);
  w.start(2);
  auto lagging = parse_samples(w.call(verb::get, "/metrics").body());
  CHECK(lagging["sagaflow_outbox_lag"] == 2);  // each saga's first command
  w.transport.fail_publish = false;
  w.orchestrator.run_once(0ms);  // published again
  auto caught_up = parse_samples(w.call(verb::get, "/metrics").body());
  CHECK(caught_up["sagaflow_outbox_lag"] == 0);
}

TEST_CASE("label values are escaped as the text format asks") {
  PrometheusMetrics metrics;
  metrics.saga_started("we\"ird\\flow\n");
  const auto text = metrics.render({});
  CHECK(text.find(R"(sagaflow_sagas_started_total{flow="we\"ird\\flow\n"} 1)") !=
        std::string::npos);
}

TEST_CASE("sagaflow_dead_lettered_total counts each dead letter under its reason code") {
  PrometheusMetrics metrics;
  const std::pair<DeadLetterCode, int> told[] = {{DeadLetterCode::malformed_envelope, 3},
                                                 {DeadLetterCode::oversized, 1},
                                                 {DeadLetterCode::no_reply_to, 2}};
  for (const auto& [code, times] : told) {
    for (int i = 0; i < times; ++i) {
      // Free text stays out of the label: only the code is counted.
      metrics.dead_lettered({code, "header 'x\"y' is not a string", "q", "id-1"});
    }
  }
  auto samples = parse_samples(metrics.render({}));
  std::set<std::string> by_code;
  for (auto code : kDeadLetterCodes) {
    by_code.insert(std::string(R"(sagaflow_dead_lettered_total{reason=")") + to_string(code) +
                   R"("})");
  }
  std::set<std::string> rendered;
  for (const auto& [name, value] : samples) {
    if (name.starts_with("sagaflow_dead_lettered_total")) rendered.insert(name);
  }
  CHECK(rendered == by_code);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="malformed_envelope"})"] == 3);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="oversized"})"] == 1);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="no_reply_to"})"] == 2);
  CHECK(samples[R"(sagaflow_dead_lettered_total{reason="not_json"})"] == 0);
}

TEST_CASE("the per-service gauges say what is in flight, waiting, and since when") {
  PrometheusMetrics metrics;
  Gauges gauges;
  gauges.services = {ServiceLoad{.service = "points",
                                 .in_flight = 256,
                                 .waiting = 40,
                                 .oldest_waiting_age = std::chrono::milliseconds(2500)},
                     ServiceLoad{.service = "offers", .in_flight = 3}};
  auto samples = parse_samples(metrics.render(gauges));
  CHECK(samples[R"(sagaflow_service_commands_in_flight{service="points"})"] == 256);
  CHECK(samples[R"(sagaflow_service_commands_waiting{service="points"})"] == 40);
  CHECK(samples[R"(sagaflow_service_oldest_waiting_seconds{service="points"})"] == 2.5);
  CHECK(samples[R"(sagaflow_service_commands_in_flight{service="offers"})"] == 3);
  CHECK(samples[R"(sagaflow_service_commands_waiting{service="offers"})"] == 0);
  CHECK(samples.contains(R"(sagaflow_service_oldest_waiting_seconds{service="offers"})"));
}
