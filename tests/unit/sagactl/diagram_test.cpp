// `sagactl diagram`: golden diagrams of real flows (tests/data/sagactl/*.mmd), the order of the
// compensations on each failure path, and what makes a path exist or not.
//
// A golden file that no longer matches is written next to the build as
// <build>/sagactl-golden/<name>.mmd for a diff; SAGAFLOW_UPDATE_GOLDEN=1 rewrites the goldens.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <boost/json.hpp>

#include "command.hpp"
#include "flow_diagram.hpp"
#include "sagaflow/flow/loader.hpp"
#include "support/run_sagactl.hpp"

using sagaflow::testing::run_sagactl;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

namespace {

std::string definition(const std::string& flow) {
  return std::string(SAGAFLOW_SOURCE_DIR) + "/definitions/" + flow + ".yaml";
}

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void check_golden(const std::string& name, const std::string& flow_file) {
  auto r = run_sagactl({"diagram", flow_file});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(r.err.empty());
  const fs::path golden = fs::path(SAGAFLOW_SOURCE_DIR) / "tests/data/sagactl" / (name + ".mmd");
  if (std::getenv("SAGAFLOW_UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden, std::ios::binary) << r.out;
    return;
  }
  const std::string expected = read(golden);
  if (r.out != expected) {
    const fs::path actual = fs::path(SAGAFLOW_BINARY_DIR) / "sagactl-golden" / (name + ".mmd");
    fs::create_directories(actual.parent_path());
    std::ofstream(actual, std::ios::binary) << r.out;
    FAIL_CHECK("diagram of " << name << " differs from " << golden.string() << "; see: diff "
                             << golden.string() << " " << actual.string());
  }
}

// One path's Mermaid text, through the command.
std::string path_of(const std::string& flow, const std::string& path) {
  auto r = run_sagactl({"diagram", definition(flow), "--path", path});
  REQUIRE_MESSAGE(r.status == sagactl::kExitOk, r.err);
  return r.out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The steps undone on a path, in the diagram's order: "(undo STEP)" of each compensation.
Strings undone(const std::string& mermaid) {
  static const std::regex undo(R"(Orchestrator->>\w+: \w+ \(undo (\w+)\))");
  Strings out;
  for (const auto& line : lines_of(mermaid)) {
    std::smatch m;
    if (std::regex_search(line, m, undo)) out.push_back(m[1]);
  }
  return out;
}

// The block (opt/alt/loop/par line) that directly holds the compensation of `step`.
std::string block_around_undo(const std::string& mermaid, const std::string& step) {
  std::vector<std::string> open;
  for (const auto& raw : lines_of(mermaid)) {
    const auto line = raw.substr(raw.find_first_not_of(' '));
    if (line.starts_with("opt ") || line.starts_with("alt ") || line.starts_with("loop ") ||
        line.starts_with("par ")) {
      open.push_back(line);
    } else if (line == "end") {
      open.pop_back();
    } else if (line.find("(undo " + step + ")") != std::string::npos) {
      return open.empty() ? "" : open.back();
    }
  }
  return "<no undo of " + step + ">";
}

Strings path_names(const std::string& flow) {
  auto r = run_sagactl({"diagram", definition(flow), "--json"});
  REQUIRE(r.status == sagactl::kExitOk);
  Strings names;
  const auto doc = boost::json::parse(r.out);
  for (const auto& p : doc.at("paths").as_array()) {
    names.emplace_back(p.at("name").as_string());
  }
  return names;
}

}  // namespace

// --- goldens ---------------------------------------------------------------------------------

TEST_CASE("diagram golden: offer_purchase") {
  check_golden("offer_purchase", definition("offer_purchase"));
}
TEST_CASE("diagram golden: order_payment") {
  check_golden("order_payment", definition("order_payment"));
}
TEST_CASE("diagram golden: certificate_redemption") {
  check_golden("certificate_redemption", definition("certificate_redemption"));
}
TEST_CASE("diagram golden: user_registration (parallel branches)") {
  check_golden("user_registration", definition("user_registration"));
}
TEST_CASE("diagram golden: certificate_activation (trigger, foreach, a wait with each_event)") {
  check_golden("certificate_activation", definition("certificate_activation"));
}
TEST_CASE("diagram golden: every construct of the flow language") {
  check_golden("every_construct",
               std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/flows/every_construct.yaml");
}

// --- the compensation order ------------------------------------------------------------------

TEST_CASE("offer_purchase: a failed debit (the third step) undoes reserve, then the order") {
  const auto mermaid = path_of("offer_purchase", "debit_points");
  CHECK(undone(mermaid) == Strings{"debit_points", "reserve_points", "create_order"});
  // The failed debit itself is refunded only when an attempt timed out (it may have applied).
  CHECK(block_around_undo(mermaid, "debit_points") ==
        "opt an attempt of debit_points timed out: it may have been applied");
  CHECK(block_around_undo(mermaid, "reserve_points").empty());
  CHECK(block_around_undo(mermaid, "create_order").empty());
  CHECK(mermaid.find("points--xOrchestrator: failed for good: 3 attempts\n") != std::string::npos);
  // Nothing after the failure runs: no fulfil, no publish of points.debited.
  CHECK(mermaid.find("fulfil") == std::string::npos);
  CHECK(mermaid.find("points.debited") == std::string::npos);
}

TEST_CASE("offer_purchase: the first step's failure has only itself to undo, if it timed out") {
  const auto mermaid = path_of("offer_purchase", "create_order");
  CHECK(undone(mermaid) == Strings{"create_order"});
  CHECK(block_around_undo(mermaid, "create_order").starts_with("opt an attempt of create_order"));
}

TEST_CASE("order_payment: a refused charge undoes stock, coupon (if applied), then the order") {
  const auto mermaid = path_of("order_payment", "charge");
  CHECK(undone(mermaid) == Strings{"charge", "reserve_stock", "apply_coupon", "create_order"});
  CHECK(block_around_undo(mermaid, "apply_coupon") ==
        "opt apply_coupon ran: $input.coupon != null");
  // Then on_compensated: the "not paid" email and OrderNotPaid, after every compensation.
  const auto last_undo = mermaid.find("reject (undo create_order)");
  const auto email = mermaid.find("Orchestrator->>notifications: send_email");
  const auto not_paid = mermaid.find("publish OrderNotPaid");
  CHECK(last_undo < email);
  CHECK(email < not_paid);
  CHECK(not_paid < mermaid.find("saga compensated"));
}

TEST_CASE("order_payment: the third step (the optional coupon) failing undoes only the order") {
  const auto mermaid = path_of("order_payment", "apply_coupon");
  CHECK(undone(mermaid) == Strings{"apply_coupon", "create_order"});
  // The step that failed ran, so it is drawn without its `when`.
  CHECK(mermaid.find("opt $input.coupon") == std::string::npos);
}

TEST_CASE("order_payment: the pivot itself failing still compensates, after it nothing does") {
  const auto mermaid = path_of("order_payment", "mark_paid");
  CHECK(undone(mermaid) == Strings{"charge", "reserve_stock", "apply_coupon", "create_order"});
  CHECK(path_names("order_payment") ==
        Strings{"happy", "create_order", "apply_coupon", "reserve_stock", "charge", "mark_paid"});
  auto r = run_sagactl({"diagram", definition("order_payment"), "--path", "send_to_platform"});
  CHECK(r.status == sagactl::kExitUsage);
  CHECK(r.err.find("has no failure path") != std::string::npos);
  const auto happy = path_of("order_payment", "happy");
  CHECK(happy.find("Note over Orchestrator: pivot mark_paid done: from here only forward") !=
        std::string::npos);
}

TEST_CASE("certificate_redemption: the undo of the hold depends on how far the saga got") {
  // Before the capture, $steps.capture cannot be set: the hold is released, never voided.
  for (const auto* path : {"hold", "payment_result", "capture"}) {
    const auto mermaid = path_of("certificate_redemption", path);
    CHECK_MESSAGE(mermaid.find("release_hold (undo hold)") != std::string::npos, path);
    CHECK_MESSAGE(mermaid.find("void (undo hold)") == std::string::npos, path);
    // ...and on_compensated's Void announcement, whose `when` reads the capture, is left out.
    CHECK_MESSAGE(mermaid.find("GiftCertificateTransaction") == std::string::npos, path);
  }
  // The third step, capture, failing: the hold is undone, nothing else (capture is irreversible).
  CHECK(undone(path_of("certificate_redemption", "capture")) == Strings{"hold"});
  // After the capture the diagram shows both variants, the void first.
  const auto mermaid = path_of("certificate_redemption", "apply_certificate");
  CHECK(undone(mermaid) == Strings{"apply_certificate", "hold", "hold"});
  CHECK(block_around_undo(mermaid, "hold") == "alt $steps.capture != null");
  CHECK(
      mermaid.find("  else otherwise\n    Orchestrator->>certificates: release_hold (undo hold)") !=
      std::string::npos);
}

TEST_CASE("certificate_redemption: a wait fails on payment.failed or on its timeout") {
  const auto mermaid = path_of("certificate_redemption", "payment_result");
  CHECK(mermaid.find("  alt payment.failed\n    payments-)Orchestrator: payment.failed\n"
                     "  else timeout 15m\n"
                     "    Note over Orchestrator: payment_result times out after 15m\n  end\n") !=
        std::string::npos);
}

TEST_CASE("user_registration: a failed branch undoes the other branch's steps, then the user") {
  const auto mermaid = path_of("user_registration", "create_account");
  CHECK(undone(mermaid) == Strings{"create_account", "save_user", "create_user"});
  CHECK(block_around_undo(mermaid, "save_user") == "opt save_user completed before the failure");
  CHECK(mermaid.find("and setup: save_user, as far as it got") != std::string::npos);
  CHECK(mermaid.find("par undo create_account") != std::string::npos);
  CHECK(mermaid.find("UserRegistrationFailed") > mermaid.find("delete (undo create_user)"));
}

TEST_CASE("booking_payment: the wait for the payment times out (payment.failed keeps waiting)") {
  const auto mermaid = path_of("booking_payment", "await_payment");
  CHECK(undone(mermaid) == Strings{"create_payment", "create_booking"});
  CHECK(mermaid.find("await_payment times out after 30m") != std::string::npos);
  CHECK(mermaid.find("payment.failed") == std::string::npos);
  // The pivot is the wait: confirm_booking is past it and has no failure path.
  CHECK(path_names("booking_payment") ==
        Strings{"happy", "create_booking", "create_payment", "await_payment"});
}

TEST_CASE("coupon_issue: a failed assignment unassigns the others, then deletes the coupon") {
  const auto mermaid = path_of("coupon_issue", "assign");
  CHECK(undone(mermaid) == Strings{"assign", "create_coupon"});
  CHECK(block_around_undo(mermaid, "assign") ==
        "loop each item of assign that completed (or timed out), latest first");
  CHECK(mermaid.find("alt the failing item") != std::string::npos);
}

// --- every flow ------------------------------------------------------------------------------

TEST_CASE("every flow of definitions/ gives well-formed diagrams") {
  for (const auto& entry : fs::directory_iterator(fs::path(SAGAFLOW_SOURCE_DIR) / "definitions")) {
    if (entry.path().extension() != ".yaml") continue;
    const auto name = entry.path().stem().string();
    auto loaded = sagaflow::flow::load_flow_file(entry.path());
    REQUIRE(loaded.ok());
    const auto paths = sagactl::diagram_paths(sagaflow::Plan(loaded.flow));
    REQUIRE(paths.size() >= 2);
    CHECK(paths.front().name == "happy");
    for (const auto& path : paths) {
      INFO(name << " path " << path.name);
      const auto lines = lines_of(path.mermaid);
      REQUIRE(lines.size() > 2);
      CHECK(lines[0] == "sequenceDiagram");
      CHECK(lines[1] == "  participant Orchestrator");
      int depth = 0;
      for (const auto& raw : lines) {
        const auto line = raw.substr(raw.find_first_not_of(' '));
        if (line.starts_with("opt ") || line.starts_with("alt ") || line.starts_with("loop ") ||
            line.starts_with("par ")) {
          ++depth;
        }
        if (line == "end") --depth;
        CHECK(depth >= 0);
        CHECK(line.find(';') == std::string::npos);  // Mermaid would end the statement there
      }
      CHECK(depth == 0);
      CHECK(lines.back().find(path.name == "happy" ? "saga completed" : "saga compensated") !=
            std::string::npos);
    }
  }
}

TEST_CASE(
    "names Mermaid would misread get safe ids, and semicolons, hashes and angle brackets become "
    "entities") {
  auto r = run_sagactl({"diagram",
                        std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/sagactl/awkward_names.yaml",
                        "--path", "b"});
  REQUIRE(r.status == sagactl::kExitOk);
  CHECK(r.out ==
        "%% path: b\n"
        "sequenceDiagram\n"
        "  participant Orchestrator\n"
        "  participant p_end as end\n"
        "  participant my_svc as my-svc\n"
        "  participant p_9lives as 9lives\n"
        "  participant p_note as note\n"
        "  opt $input.x == 'a#59;b#35;c' && $input.n #60; 3 || $input.n #62;= 10\n"
        "    Orchestrator->>p_end: do-it\n"
        "    p_end-->>Orchestrator: ok\n"
        "  end\n"
        "  Orchestrator->>my_svc: go\n"
        "  my_svc--xOrchestrator: failed for good: no retry\n"
        "  Note over Orchestrator: compensate, latest completion first\n"
        "  opt an attempt of b timed out: it may have been applied\n"
        "    Orchestrator->>p_9lives: stop (undo b)\n"
        "    p_9lives-->>Orchestrator: ok\n"
        "  end\n"
        "  opt a ran: $input.x == 'a#59;b#35;c' && $input.n #60; 3 || $input.n #62;= 10\n"
        "    Orchestrator->>p_note: undo (undo a)\n"
        "    p_note-->>Orchestrator: ok\n"
        "  end\n"
        "  Note over Orchestrator: saga compensated\n");
}

// --- the command -----------------------------------------------------------------------------

TEST_CASE("diagram --json prints the same paths as the text output") {
  auto text = run_sagactl({"diagram", definition("points_charge")});
  auto json = run_sagactl({"diagram", definition("points_charge"), "--json"});
  REQUIRE(json.status == sagactl::kExitOk);
  std::string rebuilt;
  const auto doc = boost::json::parse(json.out);
  for (const auto& p : doc.at("paths").as_array()) {
    if (!rebuilt.empty()) rebuilt += "\n";
    rebuilt += "%% path: " + std::string(p.at("name").as_string()) + "\n" +
               std::string(p.at("mermaid").as_string());
  }
  CHECK(rebuilt == text.out);
  auto one =
      run_sagactl({"diagram", definition("points_charge"), "--path", "add_points", "--json"});
  CHECK(boost::json::parse(one.out).at("paths").as_array().size() == 1);
}

TEST_CASE("diagram: a broken flow prints lint's diagnostics and exits 1, unknown paths exit 2") {
  auto broken = run_sagactl(
      {"diagram", std::string(SAGAFLOW_SOURCE_DIR) + "/tests/data/flows/broken/empty_steps.yaml"});
  CHECK(broken.status == sagactl::kExitFailure);
  CHECK(broken.err.find(": error: ") != std::string::npos);
  CHECK(broken.out.empty());
  auto unknown = run_sagactl({"diagram", definition("offer_purchase"), "--path", "nope"});
  CHECK(unknown.status == sagactl::kExitUsage);
  CHECK(unknown.err.find("the paths are: happy create_order reserve_points debit_points "
                         "fulfil_order") != std::string::npos);
  // A publish step cannot fail: no path.
  CHECK(run_sagactl({"diagram", definition("offer_purchase"), "--path", "points_debited"}).status ==
        sagactl::kExitUsage);
}
