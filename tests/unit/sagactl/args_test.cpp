// sagactl's command line: the shared parser, URLs, exit codes, and every command's usage errors
// (all caught before anything is sent, so no server is needed).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "admin.hpp"
#include "args.hpp"
#include "command.hpp"
#include "http_client.hpp"
#include "support/run_sagactl.hpp"

using sagaflow::testing::run_sagactl;

namespace {

struct Parsed {
  std::optional<int> status;
  std::vector<std::string> positional;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<std::string_view> args, std::optional<std::string>& value, bool& flag) {
  std::ostringstream out, err;
  sagactl::Context ctx{
      .out = out, .err = err, .env = [](std::string_view) { return std::optional<std::string>(); }};
  sagactl::ArgParser parser("test", "usage: sagactl test\n");
  parser.value("--value", value).flag("--flag", flag);
  Parsed p;
  p.status = parser.parse(args, ctx);
  p.positional = parser.positional();
  p.out = out.str();
  p.err = err.str();
  return p;
}

}  // namespace

TEST_CASE("the parser takes --name VALUE, --name=VALUE, flags and positional arguments") {
  std::optional<std::string> value;
  bool flag = false;
  auto p = parse({"a", "--value", "v1", "b", "--flag"}, value, flag);
  CHECK(!p.status);
  CHECK(value == "v1");
  CHECK(flag);
  CHECK(p.positional == std::vector<std::string>{"a", "b"});

  value.reset();
  p = parse({"--value=x=y", "-"}, value, flag);
  CHECK(value == "x=y");
  CHECK(p.positional == std::vector<std::string>{"-"});

  value.reset();
  p = parse({"--value", "--", "--", "--flag"}, value, flag);  // a value may start with dashes
  CHECK(value == "--");
  CHECK(p.positional == std::vector<std::string>{"--flag"});
}

TEST_CASE("the parser refuses unknown options, missing values and values on flags") {
  std::optional<std::string> value;
  bool flag = false;
  auto p = parse({"--nope"}, value, flag);
  CHECK(p.status == sagactl::kExitUsage);
  CHECK(p.err == "sagactl test: unknown option '--nope'\nusage: sagactl test\n");
  CHECK(parse({"--value"}, value, flag).status == sagactl::kExitUsage);
  CHECK(parse({"--flag=1"}, value, flag).status == sagactl::kExitUsage);
}

TEST_CASE("--help prints the usage to stdout and exits 0") {
  std::optional<std::string> value;
  bool flag = false;
  auto p = parse({"x", "--help", "--nope"}, value, flag);
  CHECK(p.status == sagactl::kExitOk);
  CHECK(p.out == "usage: sagactl test\n");
  CHECK(p.err.empty());
}

TEST_CASE("parse_integer accepts decimal integers in range only") {
  CHECK(sagactl::parse_integer("50", 1, 500) == 50);
  CHECK(!sagactl::parse_integer("0", 1, 500));
  CHECK(!sagactl::parse_integer("501", 1, 500));
  CHECK(!sagactl::parse_integer("5x", 1, 500));
  CHECK(!sagactl::parse_integer("", 1, 500));
  CHECK(!sagactl::parse_integer(" 5", 1, 500));
}

TEST_CASE("admin URLs: host, port, IPv6, path prefix, https and credentials are refused") {
  std::string error;
  auto e = sagactl::parse_url("http://127.0.0.1:7070", error);
  REQUIRE(e);
  CHECK(e->host == "127.0.0.1");
  CHECK(e->port == "7070");
  CHECK(e->base_path.empty());

  e = sagactl::parse_url("http://[::1]:8080/admin/", error);
  REQUIRE(e);
  CHECK(e->host == "::1");
  CHECK(e->port == "8080");
  CHECK(e->base_path == "/admin");

  e = sagactl::parse_url("localhost", error);  // no scheme: http, port 80
  REQUIRE(e);
  CHECK(e->host == "localhost");
  CHECK(e->port == "80");

  CHECK(!sagactl::parse_url("https://example.com", error));
  CHECK(error.find("https is not supported") != std::string::npos);
  CHECK(!sagactl::parse_url("http://user:pw@host:1", error));
  CHECK(error.find("--token-file") != std::string::npos);
  CHECK(!sagactl::parse_url("http://host:0", error));
  CHECK(!sagactl::parse_url("http://host:99999", error));
  CHECK(!sagactl::parse_url("http://host:80x", error));
  CHECK(!sagactl::parse_url("http://:80", error));
  CHECK(!sagactl::parse_url("ftp://host", error));
  CHECK(!sagactl::parse_url("http://host/x?y=1", error));
}

TEST_CASE("url_encode keeps RFC 3986's unreserved characters only") {
  CHECK(sagactl::url_encode("abc-XYZ_0.9~") == "abc-XYZ_0.9~");
  CHECK(sagactl::url_encode("a b/c?d&e=f+g:h") == "a%20b%2Fc%3Fd%26e%3Df%2Bg%3Ah");
  CHECK(sagactl::url_encode("\xc3\xa9") == "%C3%A9");
}

TEST_CASE("HTTP statuses map to the documented exit codes") {
  using namespace sagactl;
  CHECK(exit_status_for_http(200) == kExitOk);
  CHECK(exit_status_for_http(201) == kExitOk);
  CHECK(exit_status_for_http(400) == kExitUsage);
  CHECK(exit_status_for_http(401) == kExitUnavailable);
  CHECK(exit_status_for_http(403) == kExitUnavailable);
  CHECK(exit_status_for_http(404) == kExitNotFound);
  CHECK(exit_status_for_http(405) == kExitUnavailable);
  CHECK(exit_status_for_http(409) == kExitFailure);
  CHECK(exit_status_for_http(413) == kExitFailure);
  CHECK(exit_status_for_http(422) == kExitFailure);
  CHECK(exit_status_for_http(500) == kExitUnavailable);
  CHECK(exit_status_for_http(503) == kExitUnavailable);
}

TEST_CASE("sagactl --help lists every command and the exit codes") {
  auto r = run_sagactl({"--help"});
  CHECK(r.status == sagactl::kExitOk);
  for (auto command : {"lint", "diagram", "test", "simulate", "deploy", "start", "list", "show",
                       "retry", "cancel", "flows", "schedules"}) {
    CHECK_MESSAGE(r.out.find(std::string("  ") + command + " ") != std::string::npos, command);
  }
  for (auto line : {"  0  ok", "  1  the command ran", "  2  usage", "  3  not found",
                    "  4  cannot reach the server", "  5  timed out waiting"}) {
    CHECK_MESSAGE(r.out.find(line) != std::string::npos, line);
  }
  CHECK(run_sagactl({}).status == sagactl::kExitUsage);
  auto unknown = run_sagactl({"frobnicate"});
  CHECK(unknown.status == sagactl::kExitUsage);
  CHECK(unknown.err.starts_with("sagactl: unknown command 'frobnicate'\n"));
}

TEST_CASE("every command has --help, which exits 0") {
  for (auto command : {"lint", "diagram", "test", "simulate", "deploy", "start", "list", "show",
                       "retry", "cancel", "flows", "schedules"}) {
    auto r = run_sagactl({command, "--help"});
    CHECK_MESSAGE(r.status == sagactl::kExitOk, command);
    CHECK_MESSAGE(r.out.starts_with(std::string("usage: sagactl ") + command), command);
  }
}

TEST_CASE("usage errors exit 2 before anything is sent") {
  const std::vector<std::vector<std::string>> wrong{
      {"start"},
      {"start", "a", "b"},
      {"start", "f", "--timeout", "100"},
      {"start", "f", "--wait-end", "--wait-step", "x"},
      {"start", "f", "--wait-end", "--timeout", "soon"},
      {"start", "f", "--input", "{not json"},
      {"start", "f", "--input", "@/nonexistent/input.json"},
      {"start", "f", "--flow-version", "0"},
      {"list", "extra"},
      {"list", "--limit", "0"},
      {"list", "--limit", "501"},
      {"list", "--frm", "x"},
      {"show"},
      {"show", "a", "b"},
      {"retry"},
      {"retry", "a", "--flow", "f"},
      {"retry", "--failed", "a"},
      {"retry", "--failed", "--limit", "1001"},
      {"cancel"},
      {"cancel", "a", "--reason"},
      {"flows", "x"},
      {"deploy"},
      {"deploy", "/nonexistent/flow.yaml"},
      {"flows", "--url", "https://example.com"},
      {"flows", "--url", "http://h:notaport"},
      {"flows", "--http-timeout", "0"},
      {"flows", "--token-file", "/nonexistent/token"},
      {"diagram"},
      {"diagram", "a.yaml", "b.yaml"},
      {"start", "f", "--start-at", "2030-01-01T00:00:00Z", "--wait-end"},
      {"schedules", "frob"},
      {"schedules", "list", "x"},
      {"schedules", "show"},
      {"schedules", "pause", "a", "b"},
      {"schedules", "deploy", "x", "--flow", "f"},
      {"schedules", "deploy", "x", "--cron", "* * * * *"},
      {"schedules", "deploy", "x", "--flow", "f", "--cron", "* * * * *", "--input", "{no"},
      {"schedules", "delete", "x", "--cron", "* * * * *"},
  };
  for (const auto& args : wrong) {
    std::string line;
    for (const auto& a : args) line += a + " ";
    auto r = run_sagactl(args);
    CHECK_MESSAGE(r.status == sagactl::kExitUsage, line);
    CHECK_MESSAGE(r.err.starts_with("sagactl " + args.front() + ": "), line << r.err);
    CHECK_MESSAGE(r.out.empty(), line);
  }
}

TEST_CASE("an empty token file is a usage error, and the token is never echoed") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sagactl-empty-token-" + std::to_string(::getpid()));
  std::ofstream(path) << "\n";
  auto r = run_sagactl({"flows", "--token-file", path.string()});
  std::filesystem::remove(path);
  CHECK(r.status == sagactl::kExitUsage);
  CHECK(r.err.find("is empty") != std::string::npos);
}

TEST_CASE(
    "lint prints what a flow file holds escaped: an erase-line escape in a key erases nothing") {
  const auto path = std::filesystem::temp_directory_path() /
                    ("sagactl-lint-escape-" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path, std::ios::binary)
      << "name: f\nversion: 1\nsteps:\n  - name: a\n    command: { service: s, name: c, input: {} "
         "}\n\"\\e[2K\": erased\n";  // a raw ESC is refused; a quoted \e is one
  auto r = run_sagactl({"lint", path.string()});
  std::filesystem::remove(path);
  CHECK(r.status == sagactl::kExitFailure);
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find(":6:1: error: ") != std::string::npos);  // the key's line and column
  CHECK(r.err.find("\\x1b[2K") != std::string::npos);
}
