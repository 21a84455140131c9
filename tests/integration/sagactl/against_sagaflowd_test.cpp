// sagactl against a real sagaflowd (embedded: its own SQLite file, the example participants
// in-process with their demo data): what an operator's script does, end to end.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
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
  Daemon()
      : dir_(std::filesystem::temp_directory_path() /
             ("sagactl-e2e-" + std::to_string(::getpid()))),
        port_(free_port()),
        url_("http://127.0.0.1:" + std::to_string(port_)) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    process_ = std::make_unique<Process>(
        std::vector<std::string>{std::string(SAGAFLOW_BINARY_DIR) + "/apps/sagaflowd", "--demo"},
        std::map<std::string, std::string>{
            {"SAGAFLOW_DB", (dir_ / "sagaflow.db").string()},
            {"SAGAFLOW_FLOWS", std::string(SAGAFLOW_SOURCE_DIR) + "/definitions"},
            {"SAGAFLOW_ADMIN_LISTEN", "127.0.0.1:" + std::to_string(port_)}},
        (dir_ / "sagaflowd.log").string());
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

  // A saga still running: the watch prints its end when it comes (after both sagas' starts,
  // --since: whichever comes first, the watch or the end, nothing is missed).
  auto second =
      run_sagactl({"start", "user_registration", "--input",
                   R"({"user_id":"watch-2","username":"watch-2","email":"watch-2@example.test"})",
                   "--url", url, "--json"});
  REQUIRE_MESSAGE(second.status == 0, second.err);
  const std::string second_id(parsed(second.out).at("id").as_string());
  auto live =
      run_sagactl({"watch", id, second_id, "--status", "completed", "--since",
                   std::to_string(change.at("seq").to_number<std::uint64_t>()), "--count", "2", "--url", url});
  REQUIRE_MESSAGE(live.status == 0, live.err);
  CHECK(live.out.find(id) != std::string::npos);
  CHECK(live.out.find(second_id) != std::string::npos);

  auto refused = run_sagactl({"watch", "--status", "done", "--url", url});
  CHECK(refused.status == 2);
}
