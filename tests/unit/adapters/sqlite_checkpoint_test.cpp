// The SQLite store copies its WAL into the database on a thread of its own: the log is copied
// without a commit asking for it, it stays bounded under steady commits, and nothing committed
// is lost on the way.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "contract/store_contract.hpp"
#include "sagaflow/sqlite/sqlite_store.hpp"
#include "support/temp_folder.hpp"

namespace {

namespace fs = std::filesystem;
using namespace sagaflow;
using namespace sagaflow::contract;

constexpr int kCheckpointPages = 64;
constexpr std::uintmax_t kFrameBytes = 4096 + 24;  // a WAL frame: a page and its header

std::uintmax_t size_of(const std::string& file) {
  std::error_code missing;
  const auto size = fs::file_size(file, missing);
  return missing ? 0 : size;
}

// A saga whose state fills about a page, so that each commit adds a few frames to the log.
SagaRow big_saga(int n) {
  SagaRow row = saga("saga-" + std::to_string(n));
  row.state = R"({"cursor":1,"data":{"pad":")" + std::string(3500, 'x') + R"("}})";
  return row;
}

}  // namespace

TEST_CASE("sqlite store: the WAL is copied into the database without a commit asking for it") {
  testing::TempFolder folder;
  const std::string db = folder.file("sagas.db");
  sqlite::SqliteStore store({.path = db, .durable = true, .checkpoint_pages = kCheckpointPages});
  // Until the log first reaches the checkpoint's threshold (its file only grows; nothing copies
  // it before), short of the limit where the writer copies it itself.
  int n = 0;
  while (size_of(db + "-wal") < 32 + kCheckpointPages * kFrameBytes) {
    commit(store, {create(big_saga(n++))});
  }
  REQUIRE(size_of(db + "-wal") < 3 * kCheckpointPages * kFrameBytes);
  // No commit from here on: only the store's own thread can copy the sagas, a page each, into
  // the database file.
  const std::uintmax_t copied = std::uintmax_t(n) * 4096;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (size_of(db) < copied && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(size_of(db) >= copied);
}

TEST_CASE("sqlite store: under steady commits the WAL stays bounded and loses nothing") {
  testing::TempFolder folder;
  const std::string db = folder.file("sagas.db");
  constexpr int kSagas = 2000;  // many thousand frames: the threshold crossed again and again
  {
    sqlite::SqliteStore store({.path = db, .durable = false, .checkpoint_pages = kCheckpointPages});
    std::uintmax_t largest = 0;
    for (int n = 0; n < kSagas; ++n) {
      commit(store, {create(big_saga(n))});
      if (n % 2 == 1)
        commit(store, {advance(saga("saga-" + std::to_string(n - 1), "order", "completed", 2), 1)});
      largest = std::max(largest, size_of(db + "-wal"));
    }
    // The log restarts once copied; past four times the threshold the writer copies it itself
    // (one commit writes fewer than 16 pages).
    CHECK(largest <= (4 * kCheckpointPages + 16) * kFrameBytes);
    CHECK(largest >= kCheckpointPages * kFrameBytes);
  }
  sqlite::SqliteStore reopened({.path = db, .durable = false});
  for (int n = 0; n < kSagas; ++n) {
    const auto row = reopened.load("saga-" + std::to_string(n));
    REQUIRE(row.has_value());
    if (n % 2 == 0) {
      CHECK(row->status == "completed");
      CHECK(row->version == 2);
    } else {
      CHECK(row->status == "running");
      CHECK(row->state == big_saga(n).state);
    }
  }
}
