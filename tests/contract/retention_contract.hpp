#pragma once
// The Store contract's retention part (finished, count_finished, remove_finished), included by
// store_contract.hpp and run by SAGAFLOW_STORE_CONTRACT on every store.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow::contract {

// A saga that ended in `status` at `ended` seconds, created `lived` seconds before.
inline SagaRow ended(std::string id, std::string status, std::int64_t ended_at,
                     std::string flow = "order", std::string key = "", std::int64_t lived = 1) {
  SagaRow row = saga(std::move(id), std::move(flow), std::move(status), 3, std::move(key));
  row.created_at = at(ended_at - lived);
  row.updated_at = at(ended_at);
  return row;
}

inline FinishedFilter finished_filter(std::string status, std::int64_t changed_before,
                                      std::string flow = "order") {
  FinishedFilter f;
  f.flow = std::move(flow);
  f.status = std::move(status);
  f.changed_before = at(changed_before);
  return f;
}

// Stores each row with one history record.
inline void store_ended(Store& store, const std::vector<SagaRow>& rows) {
  std::vector<SagaWrite> writes;
  for (const SagaRow& row : rows) {
    SagaWrite w = create(row);
    w.history.push_back({row.id, row.version, row.updated_at, "saga_" + row.status, "", "{}"});
    writes.push_back(std::move(w));
  }
  commit(store, std::move(writes));
}

}  // namespace sagaflow::contract

TEST_CASE_TEMPLATE_DEFINE(
    "store contract: finished sagas are found by flow, status and age, oldest created first", F,
    store_contract_finished) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  store_ended(*store, {ended("late", "completed", 40, "order", "", 30),   // created at 10
                       ended("early", "completed", 20, "order", "", 15),  // created at 5
                       ended("young", "completed", 100), ended("undone", "compensated", 20),
                       ended("other", "completed", 20, "refund"), saga("busy", "order", "running"),
                       ended("parked", "failed", 20)});

  auto found = store->finished(finished_filter("completed", 50));
  CHECK(ids(found) == std::vector<std::string>{"early", "late"});
  REQUIRE(found.size() == 2);
  check_same(found[0], ended("early", "completed", 20, "order", "", 15));
  CHECK(ids(store->finished(finished_filter("compensated", 50))) ==
        std::vector<std::string>{"undone"});
  CHECK(ids(store->finished(finished_filter("completed", 50, "refund"))) ==
        std::vector<std::string>{"other"});
  // Changed at 40, not before 40: kept.
  CHECK(ids(store->finished(finished_filter("completed", 40))) ==
        std::vector<std::string>{"early"});
  // Statuses that are not final are never found, whatever is asked.
  CHECK(store->finished(finished_filter("running", 1000)).empty());
  CHECK(store->finished(finished_filter("failed", 1000)).empty());

  // Pages: after the last saga of the page before, at most limit.
  auto page = finished_filter("completed", 1000);
  page.limit = 2;
  CHECK(ids(store->finished(page)) == std::vector<std::string>{"early", "late"});
  page.after = SagaCursor{at(10), "late"};
  CHECK(ids(store->finished(page)) == std::vector<std::string>{"young"});

  // Partitions.
  auto in_partition = finished_filter("completed", 50);
  in_partition.partitions = {partition_of("late", 16)};
  CHECK(ids(store->finished(in_partition)) == std::vector<std::string>{"late"});

  const auto count = store->count_finished(finished_filter("completed", 1000));
  CHECK(count.count == 3);
  CHECK(count.oldest == std::optional<Timestamp>(at(20)));
  CHECK(store->count_finished(finished_filter("cancelled", 1000)) == FinishedCount{});
}

TEST_CASE_TEMPLATE_DEFINE(
    "store contract: remove_finished takes the sagas with their history and frees their keys", F,
    store_contract_remove_finished) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  const auto done = ended("done", "completed", 20, "order", "key-1");
  const auto undone = ended("undone", "cancelled", 20);
  const auto parked = ended("parked", "failed", 20);
  const auto busy = saga("busy", "order", "running");
  store_ended(*store, {done, undone, parked, busy});
  auto moved = undone;
  moved.version = 4;
  commit(*store, {advance(moved, 3)});

  // `undone` moved on since it was read (version 4 now): it stays, as do running and parked ones.
  const std::vector<SagaRow> asked = {done, undone, parked, busy};
  CHECK(store->remove_finished(asked) == RemovedRows{1, 1});
  CHECK_FALSE(store->load("done").has_value());
  CHECK(store->history("done").empty());
  CHECK(store->load("undone").has_value());
  CHECK(store->load("parked").has_value());
  CHECK(store->load("busy").has_value());
  CHECK(store->history("parked").size() == 1);
  // Asked again: nothing left to remove.
  CHECK(store->remove_finished(asked) == RemovedRows{0, 0});

  // The key of a removed saga starts a new one.
  CHECK_FALSE(store->find_by_idempotency_key("order", "key-1").has_value());
  commit(*store, {create(saga("again", "order", "running", 1, "key-1"))});
  CHECK(store->find_by_idempotency_key("order", "key-1") == std::optional<std::string>("again"));
}

TEST_CASE_TEMPLATE_DEFINE(
    "store contract: a finished saga that a timer, subscription or outbox row names stays", F,
    store_contract_finished_still_needed) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  const auto timed = ended("timed", "completed", 20);
  const auto subscribed = ended("subscribed", "completed", 20);
  const auto sending = ended("sending", "completed", 20);
  const auto free = ended("free", "completed", 20);
  SagaWrite w1 = create(timed);
  w1.timers_set.push_back({"timed", "saga", at(500)});
  SagaWrite w2 = create(subscribed);
  w2.subscribe.push_back({"payment.done", "p-1", "subscribed"});
  SagaWrite w3 = create(sending);
  w3.outbox.push_back(command("cmd-1", "sending"));
  const auto outbox = commit(*store, {w1, w2, w3, create(free)});
  REQUIRE(outbox.size() == 1);

  CHECK(ids(store->finished(finished_filter("completed", 50))) == std::vector<std::string>{"free"});
  CHECK(store->count_finished(finished_filter("completed", 50)).count == 1);
  const std::vector<SagaRow> all = {timed, subscribed, sending, free};
  CHECK(store->remove_finished(all).sagas == 1);
  for (const char* id : {"timed", "subscribed", "sending"}) CHECK(store->load(id).has_value());

  // Once published, the outbox row no longer holds its saga.
  commit(*store, {}, {outbox[0].seq});
  CHECK(ids(store->finished(finished_filter("completed", 50))) ==
        std::vector<std::string>{"sending"});
  CHECK(store->remove_finished(all).sagas == 1);
  CHECK_FALSE(store->load("sending").has_value());
}

TEST_CASE_TEMPLATE_DEFINE(
    "store contract: a page of finished sagas is full although sagas that stay come first", F,
    store_contract_finished_page_past_named) {
  using namespace sagaflow;
  using namespace sagaflow::contract;
  F factory;
  auto store = factory.make();
  // Created one second apart: the three the outbox and a subscription name come first.
  std::vector<SagaWrite> writes;
  for (int i = 0; i < 6; ++i) {
    SagaWrite w = create(ended("s" + std::to_string(i), "completed", 20 + i, "order", "", 1));
    if (i < 2) w.outbox.push_back(command("cmd-" + std::to_string(i), w.saga.id));
    if (i == 2) w.subscribe.push_back({"payment.done", "p-2", w.saga.id});
    writes.push_back(std::move(w));
  }
  commit(*store, std::move(writes));

  auto page = finished_filter("completed", 50);
  page.limit = 2;
  const auto first = store->finished(page);
  CHECK(ids(first) == std::vector<std::string>{"s3", "s4"});
  REQUIRE_FALSE(first.empty());
  page.after = SagaCursor{first.back().created_at, first.back().id};
  CHECK(ids(store->finished(page)) == std::vector<std::string>{"s5"});
  page.limit = 1;
  page.after.reset();
  CHECK(ids(store->finished(page)) == std::vector<std::string>{"s3"});
}

#define SAGAFLOW_RETENTION_CONTRACT(...)                                        \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_finished, __VA_ARGS__);              \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_remove_finished, __VA_ARGS__);       \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_finished_still_needed, __VA_ARGS__); \
  TEST_CASE_TEMPLATE_INVOKE(store_contract_finished_page_past_named, __VA_ARGS__)
