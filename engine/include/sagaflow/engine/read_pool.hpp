#pragma once
// The admin endpoint's reads, on connections of their own: a few stores opened on the same
// database as the orchestrator's (PostgreSQL: their own connections; SQLite: their own
// connections to the WAL file, whose readers never wait for the writer), lent one per read.
// A read never takes the orchestrator's connection or its lock, so a slow list does not hold a
// commit back, and a commit held open does not hold the reads.
//
// Threading: any thread; a read waits while every store is lent (the admin endpoint bounds how
// many API requests run at once).
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sagaflow/engine/ports.hpp"

namespace sagaflow {

// What the admin endpoint reads.
class SagaReads {
 public:
  virtual ~SagaReads() = default;
  virtual std::optional<SagaRow> load(std::string_view saga_id) = 0;
  virtual std::vector<HistoryRow> history(std::string_view saga_id) = 0;
  virtual std::vector<SagaRow> list(const SagaFilter& filter) = 0;
  virtual std::vector<SagaCount> count_by_flow_and_status() = 0;
  virtual std::vector<FlowDefinitionRow> flow_definitions() = 0;
  // Whether the database answers, asked without waiting for a connection: nullopt when it does
  // (or when every connection is busy reading, which says as much), else why not.
  virtual std::optional<std::string> probe() = 0;
};

// The reads of one Store (the embedded setups and tests: the orchestrator's own store).
class StoreReads final : public SagaReads {
 public:
  explicit StoreReads(Store& store) : store_(store) {}
  std::optional<SagaRow> load(std::string_view id) override { return store_.load(id); }
  std::vector<HistoryRow> history(std::string_view id) override { return store_.history(id); }
  std::vector<SagaRow> list(const SagaFilter& filter) override { return store_.list(filter); }
  std::vector<SagaCount> count_by_flow_and_status() override {
    return store_.count_by_flow_and_status();
  }
  std::vector<FlowDefinitionRow> flow_definitions() override { return store_.flow_definitions(); }
  std::optional<std::string> probe() override;

 private:
  Store& store_;
};

class ReadPool final : public SagaReads {
 public:
  // `stores` must not be empty; each is used by one read at a time.
  explicit ReadPool(std::vector<std::unique_ptr<Store>> stores);

  std::optional<SagaRow> load(std::string_view id) override;
  std::vector<HistoryRow> history(std::string_view id) override;
  std::vector<SagaRow> list(const SagaFilter& filter) override;
  std::vector<SagaCount> count_by_flow_and_status() override;
  std::vector<FlowDefinitionRow> flow_definitions() override;
  std::optional<std::string> probe() override;

 private:
  // Runs `read` on a free store, waiting for one.
  template <class Read>
  auto with_store(Read&& read);
  Store* take(bool wait);
  void give_back(Store* store);

  std::vector<std::unique_ptr<Store>> stores_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<Store*> free_;
};

}  // namespace sagaflow
