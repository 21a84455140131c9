#pragma once
// Retention removing a backlog while a writer commits as the orchestrator does (new sagas, then
// their moves, in group commits): every commit must succeed and the writer must finish, and the
// backlog must be gone. Shared by the SQLite test (one store, two threads) and the PostgreSQL
// one (a connection each). Nothing is timed: only outcomes are checked.
#include <doctest/doctest.h>

#include <atomic>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "contract/store_contract.hpp"
#include "sagaflow/engine/retention.hpp"
#include "sagaflow/flow/loader.hpp"
#include "sagaflow/testing/manual_clock.hpp"

namespace sagaflow::contract {

inline void check_retention_under_load(Store& writer, Store& remover) {
  constexpr int kBacklog = 2000;
  constexpr int kRounds = 150;
  constexpr int kPerRound = 20;
  // The backlog: finished long ago, each with three history rows.
  for (int batch = 0; batch < kBacklog / 500; ++batch) {
    std::vector<SagaWrite> writes;
    for (int i = 0; i < 500; ++i) {
      auto row = ended("old-" + std::to_string(batch * 500 + i), "completed", 10);
      SagaWrite w = create(row);
      for (int h = 0; h < 3; ++h) w.history.push_back({row.id, 3, row.updated_at, "x", "", "{}"});
      writes.push_back(std::move(w));
    }
    commit(writer, std::move(writes));
  }

  auto loaded = flow::load_flow_text(
      "name: order\nversion: 1\nsteps:\n  - name: a\n    publish: { event: e }\n", "order.yaml");
  REQUIRE(loaded.ok());
  FlowRegistry flows;
  flows.add(loaded.flow);
  testing::ManualClock clock(at(1000));  // the backlog ended 990 s before, the writes come after
  Retention retention(
      remover, flows, clock,
      {.defaults = {.completed = {.forever = false, .age = std::chrono::seconds(60)}},
       .batch = 100});

  std::atomic<bool> writing{true};
  std::exception_ptr writer_error;
  int committed = 0;
  std::thread orchestrator([&] {
    try {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<SagaWrite> writes;
        for (int i = 0; i < kPerRound; ++i) {
          // A new saga, and the one started the round before finishing (as group commits mix).
          auto fresh =
              saga("new-" + std::to_string(round) + "-" + std::to_string(i), "order", "running", 1);
          fresh.created_at = fresh.updated_at = at(1000 + round);
          SagaWrite w = create(fresh);
          w.history.push_back({fresh.id, 1, fresh.updated_at, "saga_started", "", "{}"});
          writes.push_back(std::move(w));
          if (round > 0) {
            auto done = saga("new-" + std::to_string(round - 1) + "-" + std::to_string(i), "order",
                             "completed", 2);
            done.created_at = at(999 + round);
            done.updated_at = at(1000 + round);
            SagaWrite finish = advance(done, 1);
            finish.history.push_back({done.id, 2, done.updated_at, "saga_completed", "", "{}"});
            writes.push_back(std::move(finish));
          }
        }
        commit(writer, std::move(writes));
        ++committed;
      }
    } catch (...) {
      writer_error = std::current_exception();
    }
    writing = false;
  });
  int passes = 0;
  while (writing || passes == 0) {
    retention.begin_pass();
    while (retention.step()) {
    }
    ++passes;
  }
  orchestrator.join();

  if (writer_error) {
    try {
      std::rethrow_exception(writer_error);
    } catch (const std::exception& e) {
      FAIL("a commit failed while retention ran: " << e.what());
    }
  }
  CHECK(committed == kRounds);
  CHECK(remover.count_finished(finished_filter("completed", 100)).count == 0);
  CHECK_FALSE(writer.load("old-0").has_value());
  CHECK(writer.history("old-1999").empty());
  // What the writer committed is all there: young, so kept.
  CHECK(writer.load("new-0-0")->status == "completed");
  CHECK(writer.load("new-" + std::to_string(kRounds - 1) + "-0")->status == "running");
  CHECK(writer.history("new-0-0").size() == 2);
}

}  // namespace sagaflow::contract
