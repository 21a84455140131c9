// sagactl against a real sagaflowd (embedded: its own SQLite file, the example participants
// in-process with their demo data): what an operator's script does, end to end.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "sagaflow/json.hpp"
#include "support/free_port.hpp"
#include "support/process.hpp"
#include "support/run_sagactl.hpp"

using namespace std::chrono_literals;
using sagaflow::testing::free_port;
using sagaflow::testing::Process;
using sagaflow::testing::run_sagactl;
namespace json = sagaflow::json;

namespace {

// sagaflowd --demo without --exit: the scenarios run, then it serves until stopped.
class Daemon {
 public:
  // `settings`: more SAGAFLOW_* variables; `name` tells its folder from other daemons'.
  explicit Daemon(std::map<std::string, std::string> settings = {}, const std::string& name = "e2e")
      : dir_(std::filesystem::temp_directory_path() /
             ("sagactl-" + name + "-" + std::to_string(::getpid()))),
        port_(free_port()),
        url_("http://127.0.0.1:" + std::to_string(port_)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    settings["SAGAFLOW_DB"] = (dir_ / "sagaflow.db").string();
    settings["SAGAFLOW_FLOWS"] = std::string(SAGAFLOW_SOURCE_DIR) + "/definitions";
    settings["SAGAFLOW_ADMIN_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflowd", "--demo"},
        settings, (dir_ / "sagaflowd.log").string());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (run_sagactl({"flows", "--url", url_}).status != 0) {
      REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "sagaflowd did not answer");
      std::this_thread::sleep_for(100ms);
    }
  }
  ~Daemon() {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }
  const std::string& url() const { return url_; }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int port_;
  std::string url_;
  std::unique_ptr<Process> process_;
};

json::value parsed(const std::string& text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  REQUIRE_MESSAGE(!ec, "not JSON: " << text);
  return value;
}

}  // namespace

TEST_CASE("sagactl drives a real sagaflowd: start and wait, list, show, cancel, deploy") {
  Daemon daemon;
  const auto& url = daemon.url();

  // The nine flows are deployed.
  auto flows = run_sagactl({"flows", "--url", url, "--json"});
  REQUIRE(flows.status == 0);
  CHECK(parsed(flows.out).at("flows").as_array().size() == 9);

  // A purchase, waited for to its end; the same key again answers the same saga.
  const std::string input = R"({"user_id":"carol","offer_id":"spa","price":10})";
  auto started = run_sagactl({"start", "offer_purchase", "--input", input, "--key", "e2e-1",
                              "--wait-end", "--timeout", "20000", "--url", url, "--json"});
  REQUIRE_MESSAGE(started.status == 0, started.err);
  const auto first = parsed(started.out);
  CHECK(first.at("status") == "completed");
  const std::string id(first.at("id").as_string());
  auto again = run_sagactl(
      {"start", "offer_purchase", "--input", input, "--key", "e2e-1", "--url", url, "--json"});
  REQUIRE(again.status == 0);
  CHECK(parsed(again.out).at("id") == first.at("id"));
  CHECK(parsed(again.out).at("created") == false);

  // It is listed under its key, and its history has the commands it sent.
  auto listed = run_sagactl({"list", "--key", "e2e-1", "--url", url, "--json"});
  REQUIRE(listed.status == 0);
  REQUIRE(parsed(listed.out).at("sagas").as_array().size() == 1);
  auto shown = run_sagactl({"show", id, "--url", url});
  REQUIRE(shown.status == 0);
  CHECK(shown.out.find("create_order") != std::string::npos);
  CHECK(shown.out.find("debit_points") != std::string::npos);
  CHECK(run_sagactl({"show", "no-such-saga", "--url", url}).status == 3);

  // A booking never paid waits; cancelling it compensates it.
  auto booking = run_sagactl({"start", "booking_payment", "--input",
                              R"({"customer_id":"dan","slot_id":"mon-10","amount":1500})",
                              "--wait-step", "create_payment", "--url", url, "--json"});
  REQUIRE_MESSAGE(booking.status == 0, booking.err);
  const std::string booking_id(parsed(booking.out).at("id").as_string());
  REQUIRE(run_sagactl({"cancel", booking_id, "--reason", "customer left", "--url", url}).status ==
          0);
  std::string status;
  for (int i = 0; i < 200 && status != "cancelled"; ++i) {
    auto one = run_sagactl({"show", booking_id, "--url", url, "--json"});
    status = std::string(parsed(one.out).at("saga").at("status").as_string());
    std::this_thread::sleep_for(50ms);
  }
  CHECK(status == "cancelled");
  // Cancelling a finished saga is refused: exit 1, nothing changes.
  CHECK(run_sagactl({"cancel", id, "--url", url}).status == 1);

  // A new version of a flow, deployed without a restart: new sagas use it.
  const auto file = daemon.dir() / "offer_purchase_v2.yaml";
  {
    std::ifstream in(std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/offer_purchase.yaml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto at = text.find("version: 1");
    REQUIRE(at != std::string::npos);
    text.replace(at, 10, "version: 2");
    std::ofstream(file) << text;
  }
  auto deployed = run_sagactl({"deploy", file.string(), "--url", url, "--json"});
  REQUIRE_MESSAGE(deployed.status == 0, deployed.err);
  auto next = run_sagactl(
      {"start", "offer_purchase", "--input", input, "--wait-end", "--url", url, "--json"});
  REQUIRE(next.status == 0);
  auto next_id = std::string(parsed(next.out).at("id").as_string());
  auto next_shown = run_sagactl({"show", next_id, "--url", url, "--json"});
  CHECK(parsed(next_shown.out).at("saga").at("flow_version") == 2);
  auto old_shown = run_sagactl({"show", id, "--url", url, "--json"});
  CHECK(parsed(old_shown.out).at("saga").at("flow_version") == 1);

  // A broken flow is refused with its diagnostics: exit 1.
  const auto broken = daemon.dir() / "broken.yaml";
  std::ofstream(broken) << "name: broken\nversion: 1\nsteps: 7\n";
  CHECK(run_sagactl({"deploy", broken.string(), "--url", url}).status == 1);

  // Bytes that are not UTF-8: refused at the first bad byte, the diagnostics still come back as
  // JSON, exit 1.
  const auto not_utf8 = daemon.dir() / "not-utf8.yaml";
  std::ofstream(not_utf8, std::ios::binary) << "name: hostile\nversion: 1\n\xff\xfe: 1\n";
  auto bad_bytes = run_sagactl({"deploy", not_utf8.string(), "--url", url});
  CHECK_MESSAGE(bad_bytes.status == 1, bad_bytes.err);
  CHECK(bad_bytes.err.find(not_utf8.string() + ":3:1:") != std::string::npos);
  CHECK(bad_bytes.err.find("UTF-8") != std::string::npos);

  // An escape sequence in a key (a raw ESC is a YAML error of its own; a quoted \e is a key):
  // printed as lint prints it, escaped, with exit 1.
  const auto hostile = daemon.dir() / "hostile.yaml";
  std::ofstream(hostile, std::ios::binary)
      << "name: hostile\nversion: 1\n\"\\e[2K\": erased\nsteps:\n  - name: a\n"
         "    command: { service: s, name: c, input: {} }\n";
  auto refused = run_sagactl({"deploy", hostile.string(), "--url", url});
  CHECK_MESSAGE(refused.status == 1, refused.err);
  CHECK(refused.err.find(hostile.string() + ":") != std::string::npos);
  CHECK(refused.err.find("refused") != std::string::npos);
  CHECK(refused.err.find('\x1b') == std::string::npos);
  CHECK(refused.err.find("\\x1b[2K") != std::string::npos);
}

TEST_CASE("sagactl purge on a real sagaflowd: what would go, then gone, archived, its key free") {
  // Completed sagas are kept 0 s; one pass at start, then none for a day: only purge removes.
  Daemon daemon({{"SAGAFLOW_RETENTION_COMPLETED", "0s"},
                 {"SAGAFLOW_RETENTION_INTERVAL_S", "86400"},
                 {"SAGAFLOW_ARCHIVE_DIR", (std::filesystem::temp_directory_path() /
                                           ("sagactl-archive-" + std::to_string(::getpid())))
                                              .string()}},
                "purge");
  const auto archive_dir =
      std::filesystem::temp_directory_path() / ("sagactl-archive-" + std::to_string(::getpid()));
  const auto& url = daemon.url();
  const std::string input = R"({"user_id":"carol","offer_id":"spa","price":10})";
  auto started = run_sagactl({"start", "offer_purchase", "--input", input, "--key", "purge-1",
                              "--wait-end", "--timeout", "20000", "--url", url, "--json"});
  REQUIRE_MESSAGE(started.status == 0, started.err);
  REQUIRE(parsed(started.out).at("status") == "completed");
  const std::string id(parsed(started.out).at("id").as_string());
  std::this_thread::sleep_for(5ms);  // its last change is now in the past: older than 0 s

  auto dry = run_sagactl(
      {"purge", "--dry-run", "--flow", "offer_purchase", "--status", "completed", "--url", url});
  REQUIRE_MESSAGE(dry.status == 0, dry.err);
  CHECK(dry.out.find("would remove") != std::string::npos);
  CHECK(dry.out.find("offer_purchase  completed  0s") != std::string::npos);
  CHECK(run_sagactl({"show", id, "--url", url}).status == 0);  // a dry run removes nothing

  auto purged = run_sagactl({"purge", "--flow", "offer_purchase", "--url", url, "--json"});
  REQUIRE_MESSAGE(purged.status == 0, purged.err);
  const auto answer = parsed(purged.out);
  CHECK(answer.at("done") == true);
  CHECK(answer.at("sagas").as_int64() >= 1);
  CHECK(run_sagactl({"show", id, "--url", url}).status == 3);

  // The archive has the saga's line, with its history.
  bool archived = false;
  for (const auto& file : std::filesystem::directory_iterator(archive_dir)) {
    std::ifstream in(file.path());
    for (std::string line; std::getline(in, line);) {
      const auto saga = parsed(line);
      if (saga.at("saga").at("id").as_string() != id) continue;
      archived = true;
      CHECK(saga.at("saga").at("key") == "purge-1");
      CHECK(saga.at("history").as_array().back().at("kind") == "saga_completed");
    }
  }
  CHECK(archived);

  // The key of a removed saga starts a new one.
  auto again = run_sagactl(
      {"start", "offer_purchase", "--input", input, "--key", "purge-1", "--url", url, "--json"});
  REQUIRE(again.status == 0);
  CHECK(parsed(again.out).at("created") == true);
  CHECK(parsed(again.out).at("id") != json::value(id));

  // Bad input: exit 2 (400) for a status retention never removes, 3 for an unknown flow.
  CHECK(run_sagactl({"purge", "--status", "failed", "--url", url}).status == 2);
  CHECK(run_sagactl({"purge", "--flow", "nope", "--url", url}).status == 3);
  std::filesystem::remove_all(archive_dir);
}

TEST_CASE("sagactl watch prints a saga's changes as a real sagaflowd commits them") {
  Daemon daemon;
  const auto& url = daemon.url();
  auto started =
      run_sagactl({"start", "user_registration", "--input",
                   R"({"user_id":"watch-1","username":"watch-1","email":"watch-1@example.test"})",
                   "--wait-end", "--url", url, "--json"});
  REQUIRE_MESSAGE(started.status == 0, started.err);
  const std::string id(parsed(started.out).at("id").as_string());

  // --since 0: every change the daemon keeps, then the live ones; --count ends it.
  auto ended = run_sagactl(
      {"watch", id, "--since", "0", "--status", "completed", "--count", "1", "--url", url});
  REQUIRE_MESSAGE(ended.status == 0, ended.err);
  CHECK(ended.out.find(id) != std::string::npos);
  CHECK(ended.out.find("user_registration v1  completed") != std::string::npos);
  CHECK(std::count(ended.out.begin(), ended.out.end(), '\n') == 1);

  auto first = run_sagactl({"watch", id, "--since", "0", "--count", "1", "--json", "--url", url});
  REQUIRE_MESSAGE(first.status == 0, first.err);
  const auto change = parsed(first.out);
  CHECK(change.at("id").as_string() == id);
  CHECK(change.at("records").at(0).at("kind") == "saga_started");

  auto refused = run_sagactl({"watch", "--status", "done", "--url", url});
  CHECK(refused.status == 2);
}
