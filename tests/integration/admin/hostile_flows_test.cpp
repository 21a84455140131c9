// Every hostile flow file (tests/data/hostile/) posted to the admin endpoint over HTTP while
// sagas run: each is refused with a JSON answer naming the problem, /healthz keeps answering
// at once, and every saga started meanwhile completes.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <vector>

#include "admin_world.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

// Far below the flow check's budget (2 s): an I/O thread held by a parser would miss it.
constexpr auto kHealthBound = 1000ms;

std::vector<std::filesystem::path> hostile_files() {
  const auto dir = std::filesystem::path(SAGAFLOW_SOURCE_DIR) / "tests" / "data" / "hostile";
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  REQUIRE_MESSAGE(!ec, dir.string() << ": " << ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The message of an error answer, or of the first diagnostic of a lint answer: what the
// client is told is wrong.
std::string problem_named(const json::value& body) {
  const auto& object = body.as_object();
  if (const auto* error = object.if_contains("error")) {
    return std::string(error->at("message").as_string());
  }
  if (object.at("ok") != false) return {};
  const auto& diagnostics = object.at("diagnostics").as_array();
  return diagnostics.empty() ? std::string()
                             : std::string(diagnostics[0].at("message").as_string());
}

// While it lives, sagas are started (each with a new user) and /healthz is asked, each on a
// connection of its own; finish() stops both and checks that /healthz never waited and that
// every saga started meanwhile completes.
class SagasAndProbes {
 public:
  explicit SagasAndProbes(AdminWorld& world)
      : world_(world), starter_([this] { start_sagas(); }), prober_([this] { probe(); }) {}
  ~SagasAndProbes() { stop(); }

  void finish() {
    stop();
    CHECK(probes_ > 0);
    CHECK(slowest_ms_.load() < kHealthBound.count());
    REQUIRE_FALSE(started_.empty());
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (const auto& id : started_) {
      CAPTURE(id);
      std::string status;
      while (std::chrono::steady_clock::now() < deadline) {
        auto row = world_.store.load(id);
        status = row ? row->status : "";
        if (status == "completed" || status == "compensated" || status == "failed") break;
        std::this_thread::sleep_for(10ms);
      }
      CHECK(status == "completed");
    }
  }

 private:
  void stop() {
    running_ = false;
    if (starter_.joinable()) starter_.join();
    if (prober_.joinable()) prober_.join();
  }

  void start_sagas() {
    Client client(world_.endpoint());
    for (int i = 0; running_; ++i) {
      auto res = client.request(verb::post, "/api/sagas",
                                registration("u-hostile-" + std::to_string(++next_user_)));
      CHECK(res.result() == status::created);
      if (res.result() != status::created) return;
      started_.emplace_back(body_of(res).at("id").as_string());
      std::this_thread::sleep_for(20ms);
    }
  }

  void probe() {
    Client client(world_.endpoint());
    while (running_) {
      const auto asked = std::chrono::steady_clock::now();
      auto res = client.request(verb::get, "/healthz");
      const long long ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - asked)
                               .count();
      slowest_ms_ = std::max(slowest_ms_.load(), res.result() == status::ok ? ms : 1'000'000);
      ++probes_;
      std::this_thread::sleep_for(5ms);
    }
  }

  static inline std::atomic<int> next_user_{0};
  AdminWorld& world_;
  std::atomic<bool> running_{true};
  std::vector<std::string> started_;  // by the starter until stop()
  std::atomic<long long> slowest_ms_{0};
  std::atomic<int> probes_{0};
  std::thread starter_;
  std::thread prober_;
};

Response post_flow(AdminWorld& world, const char* route, const std::string& text) {
  Request req{verb::post, route, 11};
  req.set(field::content_type, "application/yaml");
  req.body() = text;
  Client client(world.endpoint());  // a refusal may close the connection (413)
  return client.send(std::move(req));
}

}  // namespace

TEST_CASE("hostile flows posted while sagas run are refused, and neither sagas nor /healthz wait") {
  const auto files = hostile_files();
  REQUIRE_MESSAGE(!files.empty(), "tests/data/hostile/ holds no file");
  AdminWorld world;
  SagasAndProbes meanwhile(world);
  for (const auto& file : files) {
    const auto text = read_file(file);
    for (const char* route : {"/api/flows", "/api/flows/lint"}) {
      CAPTURE(file.filename().string());
      CAPTURE(route);
      auto res = post_flow(world, route, text);
      CHECK(res[field::content_type] == "application/json");
      const auto body = body_of(res);  // fails unless it is JSON (and so UTF-8)
      if (std::string_view(route) == "/api/flows") {
        CHECK(res.result_int() / 100 == 4);
      } else {
        // Lint answers a flow it could read with its diagnostics (200, "ok": false); one it
        // could not read within its limits, with an error.
        CHECK((res.result_int() / 100 == 4 || res.result() == status::ok));
      }
      CHECK_FALSE(problem_named(body).empty());
    }
  }
  meanwhile.finish();
  for (const auto& plan : world.flows.all()) CHECK(plan->flow().name != "hostile");
}

TEST_CASE(
    "over HTTP, a parser that never returns costs each flow a 422 at its deadline, not the "
    "daemon") {
  // The parser of the two check threads never returns until the test ends.
  auto held = std::make_shared<std::promise<void>>();
  std::shared_future<void> released = held->get_future().share();
  struct Release {
    std::shared_ptr<std::promise<void>> held;
    ~Release() { held->set_value(); }
  } release{held};
  AdminWorld world(
      {}, AdminOptions{
              .flow_checks = {
                  .threads = 2, .queue = 2, .budget = 500ms, .load = [released](std::string_view) {
                    released.wait();
                    return flow::LoadResult{};
                  }}});
  SagasAndProbes meanwhile(world);
  const std::string comma = ",";
  for (const char* route : {"/api/flows", "/api/flows/lint"}) {
    CAPTURE(route);
    const auto asked = std::chrono::steady_clock::now();
    auto res = post_flow(world, route, comma);
    CHECK(std::chrono::steady_clock::now() - asked >= 500ms);  // answered at the deadline
    CHECK(res.result() == status::unprocessable_entity);
    CHECK(std::string(body_of(res).at("error").at("message").as_string())
              .find("not parsed and verified within 500 ms") != std::string::npos);
  }
  // Both threads are held: the next flow is refused at once.
  auto refused = post_flow(world, "/api/flows", comma);
  CHECK(refused.result() == status::service_unavailable);
  CHECK(body_of(refused).at("error").at("code") == "unavailable");
  meanwhile.finish();
}
