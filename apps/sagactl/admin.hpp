#pragma once
// What every command that talks to the admin endpoint (docs/admin-api.md) shares: the common
// options, the request with its bearer token, and how answers become messages and exit codes.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "args.hpp"
#include "command.hpp"
#include "http_client.hpp"

namespace sagactl {

inline constexpr std::string_view kDefaultAdminUrl = "http://127.0.0.1:7070";
inline constexpr std::chrono::milliseconds kDefaultHttpTimeout{30'000};

struct AdminOptions {
  std::optional<std::string> url;
  std::optional<std::string> token_file;
  std::optional<std::string> http_timeout;
  bool json = false;

  void add_to(ArgParser& parser);
};

// The common options' help, appended to each admin command's usage.
inline constexpr std::string_view kAdminOptionsUsage =
    "  --url URL           the admin endpoint (default $SAGAFLOW_ADMIN_URL, else\n"
    "                      http://127.0.0.1:7070)\n"
    "  --token-file FILE   the bearer token (default: $SAGAFLOW_ADMIN_TOKEN); never printed\n"
    "  --json              print the server's JSON answer as is (one document)\n"
    "  --http-timeout MS   give up on an answer after MS milliseconds (default 30000)\n";

// A command's usage: `before` (ending with its own options), the common options, `after`.
inline std::string with_admin_options(std::string_view before, std::string_view after) {
  return std::string(before) + std::string(kAdminOptionsUsage) + std::string(after);
}

// Exit codes of docs/sagactl.md: 0 ok, 1 refused (409, 413, 422), 2 bad parameter (400),
// 3 not found (404), 4 auth refused (401, 403) or any other answer.
int exit_status_for_http(int status);

struct AdminReply {
  int status = 0;
  std::string body;         // as the server sent it
  boost::json::value json;  // the body, parsed
  bool ok() const { return status >= 200 && status < 300; }
};

class AdminClient {
 public:
  // Reads the options and the environment (URL, token). nullopt after printing a usage error.
  static std::optional<AdminClient> open(const AdminOptions& options, const ArgParser& parser,
                                         Context& ctx, std::string_view command);

  // Sends a request. The reply when the server answered with a JSON body, whatever its status;
  // nullopt after printing why not (unreachable, timed out, not HTTP, not JSON): the command
  // then exits with kExitUnavailable. `timeout` overrides --http-timeout for this request.
  std::optional<AdminReply> call(const std::string& method, const std::string& target,
                                 std::string body = {}, std::string content_type = {},
                                 std::optional<std::chrono::milliseconds> timeout = {});

  // Opens a stream (Server-Sent Events) and hands each piece of it to `on_data` until that
  // returns false or the server ends it: nullopt then. An answer that is not a stream is
  // returned as call() returns it; nullopt after printing why there is none (as call()).
  // `ended` tells whether the stream was opened and ended by the server.
  std::optional<AdminReply> stream(const std::string& target,
                                   const std::function<bool(std::string_view piece)>& on_data,
                                   bool& ended);

  // For an error answer: prints it (with --json the server's document on stdout too, and always
  // one line on stderr) and returns its exit status.
  int fail(const AdminReply& reply) const;
  // Who the later requests name (X-Sagaflow-Actor), instead of $SAGAFLOW_ACTOR or $USER.
  void set_actor(std::string actor) { actor_ = std::move(actor); }
  // With --json: prints the body as the server sent it.
  void print_body(const AdminReply& reply) const;

  bool json() const { return json_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  Context& ctx() const { return ctx_; }
  // "sagactl COMMAND: " for messages.
  std::string prefix() const { return "sagactl " + command_ + ": "; }

 private:
  // Sends with the token and turns what came back (or why nothing did) into a reply.
  std::optional<AdminReply> exchange(HttpRequest& request,
                                     const std::function<HttpResponse()>& send);

  AdminClient(Context& ctx, std::string command, Endpoint endpoint,
              std::optional<std::string> token, std::chrono::milliseconds timeout, bool json)
      : ctx_(ctx),
        command_(std::move(command)),
        endpoint_(std::move(endpoint)),
        token_(std::move(token)),
        timeout_(timeout),
        json_(json) {}

  Context& ctx_;
  std::string command_;
  Endpoint endpoint_;
  std::optional<std::string> token_;  // never printed
  std::string actor_;                 // X-Sagaflow-Actor; empty: not sent
  std::chrono::milliseconds timeout_;
  bool json_;
};

// A bulk action's answer ({DONE_KEY: [ids], "refused": [{"id", "error"}]}, docs/admin-api.md):
// `DONE_KEY N saga(s)`, the ids, then the refused as a table (--json: the body as it came). Exit
// 0 when none was refused, 1 when any was, 4 when the answer has not that shape.
int print_bulk_answer(AdminClient& admin, const AdminReply& reply, const std::string& done_key);

// The error of an error document ({"error": {"code", "message", "details"}}), as one line.
std::string error_text(const boost::json::value& body);

}  // namespace sagactl
