// The store contract (tests/contract/store_contract.hpp) for the in-memory fake and the SQLite
// store, in memory and on a file, plus what only the SQLite file can show: durability across
// reopening and WAL mode.
#include <doctest/doctest.h>

#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "contract/retention_under_load.hpp"
#include "contract/store_contract.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "sagaflow/testing/memory_store.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sagaflow;
using namespace sagaflow::contract;

// A database path unique to this process and test, removed (with its WAL files) at the end.
class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("sagaflow-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + ".db");
  }
  ~TempDb() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path_.string() + suffix, ignored);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

struct MemoryStoreFactory {
  std::unique_ptr<Store> make() { return std::make_unique<testing::MemoryStore>(); }
};

struct SqliteMemoryFactory {
  std::unique_ptr<Store> make() {
    return std::make_unique<sqlite::SqliteStore>(sqlite::SqliteOptions{});
  }
};

struct SqliteFileFactory {
  TempDb db;
  std::unique_ptr<Store> make() {
    return std::make_unique<sqlite::SqliteStore>(sqlite::SqliteOptions{db.path(), true});
  }
};

}  // namespace

TYPE_TO_STRING(MemoryStoreFactory);
TYPE_TO_STRING(SqliteMemoryFactory);
TYPE_TO_STRING(SqliteFileFactory);
SAGAFLOW_STORE_CONTRACT(MemoryStoreFactory, SqliteMemoryFactory, SqliteFileFactory);

TEST_CASE("sqlite store: everything committed survives reopening the file") {
  TempDb db;
  std::uint64_t published_seq = 0;
  {
    sqlite::SqliteStore store({db.path(), true});
    SagaWrite w = create(saga("s1", "order", "waiting", 1, "k1"));
    w.history.push_back({"s1", 1, at(1), "started", "", "{}"});
    w.outbox = {command("s1/cmd/1", "s1"), command("s1/cmd/2", "s1")};
    w.timers_set.push_back({"s1", "saga", at(9)});
    w.subscribe.push_back({"payment.succeeded", "pay-1", "s1"});
    published_seq = commit(store, {w})[0].seq;
    commit(store, {}, {published_seq});
  }
  sqlite::SqliteStore reopened({db.path(), true});
  auto loaded = reopened.load("s1");
  REQUIRE(loaded.has_value());
  CHECK(loaded->status == "waiting");
  CHECK(reopened.find_by_idempotency_key("order", "k1") == std::optional<std::string>("s1"));
  CHECK(reopened.history("s1").size() == 1);
  auto outbox = reopened.unpublished_outbox(10);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].message.id == "s1/cmd/2");
  CHECK(timer_keys(reopened.due_timers(at(9), 10)) == std::vector<std::string>{"s1/saga"});
  CHECK(reopened.find_subscriber("payment.succeeded", "pay-1") == std::optional<std::string>("s1"));
  // The schema was not created twice, and seqs go on from where they were.
  SagaWrite next = advance(saga("s1", "order", "running", 2), 1);
  next.outbox = {command("s1/cmd/3", "s1")};
  CHECK(commit(reopened, {next})[0].seq > outbox[0].seq);
}

TEST_CASE("sqlite store: the file is in WAL mode") {
  TempDb db;
  sqlite::SqliteStore store({db.path(), true});
  commit(store, {create(saga("s1"))});
  // Bytes 18 and 19 of the database header are the write and read format versions: 2 = WAL.
  std::ifstream file(db.path(), std::ios::binary);
  char header[20] = {};
  file.read(header, sizeof header);
  REQUIRE(file.gcount() == 20);
  CHECK(header[18] == 2);
  CHECK(header[19] == 2);
  // An open WAL database keeps its changes in the -wal file until a checkpoint.
  CHECK(fs::exists(db.path() + "-wal"));
}

TEST_CASE("sqlite store: two stores on one file see each other's commits") {
  TempDb db;
  sqlite::SqliteStore writer({db.path(), false});
  sqlite::SqliteStore reader({db.path(), false});
  commit(writer, {create(saga("s1"))});
  CHECK(reader.load("s1").has_value());
  commit(reader, {advance(saga("s1", "order", "waiting", 2), 1)});
  // The other connection's write is a conflict for a transition computed from version 1.
  CHECK_THROWS_AS(commit(writer, {advance(saga("s1", "order", "failed", 2), 1)}), VersionConflict);
  CHECK(writer.load("s1")->status == "waiting");
}

TEST_CASE("sqlite store: a file that is not a database is refused at open") {
  TempDb db;
  {
    std::ofstream junk(db.path(), std::ios::binary);
    junk << std::string(4096, 'x');
  }
  CHECK_THROWS_AS(sqlite::SqliteStore({db.path(), true}), std::runtime_error);
}

TEST_CASE("memory store: a failing commit writes nothing and is not counted") {
  testing::MemoryStore store;
  commit(store, {create(saga("s1"))});
  CHECK(store.commits() == 1);

  store.fail_next_commit();
  SagaWrite w = advance(saga("s1", "order", "waiting", 2), 1);
  w.outbox = {command("s1/cmd/1", "s1")};
  CHECK_THROWS_AS(commit(store, {w}), testing::StoreFailure);
  CHECK(store.load("s1")->version == 1);
  CHECK(store.unpublished_outbox(10).empty());
  CHECK(store.commits() == 1);

  // Only the next one failed: the retry of the same batch goes through.
  CHECK(commit(store, {w}).size() == 1);
  CHECK(store.commits() == 2);

  // A refused batch is not a transaction either.
  CHECK_THROWS_AS(commit(store, {w}), VersionConflict);
  CHECK(store.commits() == 2);
}

TEST_CASE("sqlite store: retention removes a backlog while commits go on, failing none") {
  TempDb db;
  sqlite::SqliteStore store({db.path(), true});
  check_retention_under_load(store, store);  // one connection: their transactions take turns
}
