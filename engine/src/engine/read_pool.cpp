#include "sagaflow/engine/read_pool.hpp"

#include <stdexcept>

namespace sagaflow {
namespace {

// An indexed lookup that finds nothing: cheap, and it fails when the database does not answer.
std::optional<std::string> probe_store(Store& store) {
  try {
    store.load("readyz-probe");
    return std::nullopt;
  } catch (const std::exception& e) {
    std::string why = e.what();
    return why.empty() ? "the store did not answer" : why;
  }
}

}  // namespace

std::optional<std::string> StoreReads::probe() {
  return probe_store(store_);
}

ReadPool::ReadPool(std::vector<std::unique_ptr<Store>> stores) : stores_(std::move(stores)) {
  if (stores_.empty()) throw std::invalid_argument("read pool: no store");
  for (auto& s : stores_) free_.push_back(s.get());
}

Store* ReadPool::take(bool wait) {
  std::unique_lock lock(mutex_);
  if (wait) freed_.wait(lock, [this] { return !free_.empty(); });
  if (free_.empty()) return nullptr;
  auto* store = free_.back();
  free_.pop_back();
  return store;
}

void ReadPool::give_back(Store* store) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(store);
  }
  freed_.notify_one();
}

template <class Read>
auto ReadPool::with_store(Read&& read) {
  struct Lent {
    ReadPool& pool;
    Store* store;
    ~Lent() { pool.give_back(store); }
  } lent{*this, take(true)};
  return read(*lent.store);
}

std::optional<SagaRow> ReadPool::load(std::string_view id) {
  return with_store([&](Store& s) { return s.load(id); });
}

std::vector<HistoryRow> ReadPool::history(std::string_view id) {
  return with_store([&](Store& s) { return s.history(id); });
}

std::vector<SagaRow> ReadPool::list(const SagaFilter& filter) {
  return with_store([&](Store& s) { return s.list(filter); });
}

std::vector<SagaCount> ReadPool::count_by_flow_and_status() {
  return with_store([](Store& s) { return s.count_by_flow_and_status(); });
}

std::vector<FlowDefinitionRow> ReadPool::flow_definitions() {
  return with_store([](Store& s) { return s.flow_definitions(); });
}

std::optional<std::string> ReadPool::probe() {
  auto* store = take(false);
  if (store == nullptr) return std::nullopt;  // every connection is reading: it answers
  auto why = probe_store(*store);
  give_back(store);
  return why;
}

}  // namespace sagaflow
