// The partitioned store contract (tests/contract/partitioned_store_contract.hpp) for the
// in-memory fake; the PostgreSQL store instantiates the same suite.
#include <doctest/doctest.h>

#include "contract/partitioned_store_contract.hpp"
#include "sagaflow/testing/memory_store.hpp"

namespace {

struct PartitionedMemoryStoreFactory {
  std::unique_ptr<sagaflow::testing::MemoryStore> make(const sagaflow::Clock& clock) {
    return std::make_unique<sagaflow::testing::MemoryStore>(clock);
  }
};

}  // namespace

TYPE_TO_STRING(PartitionedMemoryStoreFactory);
SAGAFLOW_PARTITIONED_STORE_CONTRACT(PartitionedMemoryStoreFactory);
