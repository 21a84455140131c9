// POST /api/purge over the real engine (retention on the in-memory store, a manual clock), the
// retention metrics, and the archive's JSON lines, read back line by line.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <random>

#include "sagaflow/engine/retention.hpp"
#include "sagaflow/http/json_lines_archive.hpp"
#include "sagaflow/http/wire.hpp"
#include "unit/http/api_world.hpp"

namespace {

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

// The world's engine with retention behind its backend, as sagaflowd wires it (the pass runs
// at once here, on the caller's thread).
struct PurgeWorld {
  explicit PurgeWorld(RetentionArchive* archive = nullptr)
      : retention(world.store, world.flows, world.clock, {}, archive, &world.metrics),
        backend(world.orchestrator, world.store, world.flows, world.clock, hooks()),
        api(backend, {}, &world.metrics) {}

  BackendHooks hooks() {
    BackendHooks h;
    h.purge_preview = [this](const PurgeScope& scope) { return retention.preview(scope); };
    h.purge = [this](const PurgeScope& scope) {
      std::promise<std::vector<PurgeGroup>> done;
      try {
        retention.begin_pass(scope);
        while (retention.step()) {
        }
        done.set_value(retention.last_pass());
      } catch (...) {
        done.set_exception(std::current_exception());
      }
      return done.get_future();
    };
    return h;
  }

  Response post(std::string body) {
    return world.settle(api.handle_request(ApiWorld::request(verb::post, "/api/purge", body)));
  }

  ApiWorld world;
  Retention retention;
  AdminBackendImpl backend;
  AdminApi api;
};

std::filesystem::path fresh_folder() {
  std::random_device random;
  auto dir = std::filesystem::temp_directory_path() /
             ("sagaflow-archive-" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("POST /api/purge shows what would go, then removes it, and counts it in /metrics") {
  PurgeWorld p;
  const auto a = p.world.complete(1);
  const auto b = p.world.complete(2);
  p.world.clock.advance(std::chrono::days(7) + 1ms);
  const auto young = p.world.complete(3);

  auto preview = p.post(R"({"dry_run": true})");
  REQUIRE(preview.result() == status::ok);
  auto body = body_of(preview);
  CHECK(body.at("dry_run") == true);
  CHECK(body.at("sagas") == 2);
  const auto& groups = body.at("groups").as_array();
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].at("flow") == "order");
  CHECK(groups[0].at("status") == "completed");
  CHECK(groups[0].at("keep_for") == "7d");
  CHECK(groups[0].at("sagas") == 2);
  CHECK(groups[0].at("oldest").as_string() == format_time(p.world.store.load(a)->updated_at));
  CHECK(p.world.status_of(a) == "completed");  // a dry run removes nothing

  const auto history_rows = p.world.store.history(a).size() + p.world.store.history(b).size();
  auto purged = p.post("");
  REQUIRE(purged.result() == status::ok);
  body = body_of(purged);
  CHECK(body.at("dry_run") == false);
  CHECK(body.at("done") == true);
  CHECK(body.at("sagas") == 2);
  CHECK(body.at("history") == history_rows);
  CHECK(body.at("groups").as_array()[0].at("history") == history_rows);
  CHECK(p.world.status_of(a) == "missing");
  CHECK(p.world.status_of(b) == "missing");
  CHECK(p.world.status_of(young) == "completed");
  CHECK(body_of(p.post(R"({"dry_run": true})")).at("groups").as_array().empty());

  const auto metrics = p.world.call(verb::get, "/metrics").body();
  CHECK(metrics.find(
            "sagaflow_retention_removed_sagas_total{flow=\"order\",status=\"completed\"} 2") !=
        std::string::npos);
  CHECK(metrics.find("sagaflow_retention_removed_history_rows_total{flow=\"order\",status="
                     "\"completed\"} " +
                     std::to_string(history_rows)) != std::string::npos);
  // The young saga is the oldest kept, finished just now.
  CHECK(metrics.find("sagaflow_retention_oldest_finished_seconds{flow=\"order\",status="
                     "\"completed\"} 0") != std::string::npos);
}

TEST_CASE("POST /api/purge narrows to a flow and a status and refuses bad input with 4xx JSON") {
  PurgeWorld p;
  const auto id = p.world.complete(1);
  p.world.clock.advance(std::chrono::days(8));
  auto only_cancelled = p.post(R"({"status": "cancelled"})");
  REQUIRE(only_cancelled.result() == status::ok);
  CHECK(body_of(only_cancelled).at("sagas") == 0);
  CHECK(p.world.status_of(id) == "completed");

  CHECK(p.post(R"({"status": "failed"})").result() == status::bad_request);
  CHECK(p.post(R"({"status": "running"})").result() == status::bad_request);
  CHECK(p.post(R"({"status": 3})").result() == status::bad_request);
  CHECK(p.post(R"({"dry_run": "yes"})").result() == status::bad_request);
  CHECK(p.post(R"({"everything": true})").result() == status::bad_request);
  CHECK(p.post("[]").result() == status::bad_request);
  auto unknown = p.post(R"({"flow": "nope"})");
  CHECK(unknown.result() == status::not_found);
  CHECK(error_code(unknown) == "not_found");
  auto get = p.world.settle(p.api.handle_request(ApiWorld::request(verb::get, "/api/purge")));
  CHECK(get.result() == status::method_not_allowed);
  CHECK(error_code(get) == "method_not_allowed");

  auto purged = p.post(R"({"flow": "order", "status": "completed"})");
  CHECK(body_of(purged).at("sagas") == 1);
  // A backend without retention: 503 with the error body.
  auto none = p.world.call(verb::post, "/api/purge", "{}");
  CHECK(none.result() == status::service_unavailable);
  CHECK(error_code(none) == "unavailable");
}

TEST_CASE("the archive holds one JSON line per removed saga with its history, before removal") {
  const auto dir = fresh_folder();
  ApiWorld* world = nullptr;
  std::unique_ptr<JsonLinesArchive> archive;
  struct Checked final : RetentionArchive {
    JsonLinesArchive* files = nullptr;
    Store* store = nullptr;
    std::size_t still_stored = 0;
    void write(std::span<const ArchivedSaga> sagas) override {
      files->write(sagas);
      for (const auto& s : sagas) still_stored += store->load(s.saga.id) ? 1 : 0;
    }
  } checked;
  PurgeWorld p(&checked);
  world = &p.world;
  archive = std::make_unique<JsonLinesArchive>(dir, world->flows, world->clock);
  checked.files = archive.get();
  checked.store = &world->store;

  const auto first = world->complete(7);
  world->clock.advance(1ms);  // created later: archived after (same times go by id)
  const auto second = world->complete(8);
  const auto first_history = world->store.history(first);
  const auto second_history = world->store.history(second);
  world->clock.advance(std::chrono::days(8));
  REQUIRE(p.post("{}").result() == status::ok);
  CHECK(checked.still_stored == 2);  // written while the sagas were still there

  std::ifstream in(archive->file_for(world->clock.now()));
  REQUIRE(in.good());
  std::vector<json::value> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  REQUIRE(lines.size() == 2);
  const std::vector<std::pair<std::string, const std::vector<HistoryRow>*>> expected = {
      {first, &first_history}, {second, &second_history}};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto& saga = lines[i].at("saga");
    CHECK(saga.at("id").as_string() == expected[i].first);
    CHECK(saga.at("flow") == "order");
    CHECK(saga.at("status") == "completed");
    CHECK(saga.at("data").at("n") == (i == 0 ? 7 : 8));
    CHECK(saga.at("steps").at("reserve").at("hold") == (i == 0 ? "h-7" : "h-8"));
    const auto& history = lines[i].at("history").as_array();
    REQUIRE(history.size() == expected[i].second->size());
    for (std::size_t h = 0; h < history.size(); ++h) {
      CHECK(history[h].at("kind").as_string() == (*expected[i].second)[h].kind);
      CHECK(history[h].at("at").as_string() == format_time((*expected[i].second)[h].at));
    }
    CHECK(history.back().at("kind") == "saga_completed");
  }
  std::filesystem::remove_all(dir);
}
