#pragma once
// A small synchronous HTTP/1.1 client for the admin endpoint: one request per connection, a
// deadline over the whole exchange (resolve, connect, write, read). Beast stays in the .cpp.
#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sagactl {

// Where the admin endpoint is: from a URL such as http://127.0.0.1:7070 or http://[::1]:7070/x.
struct Endpoint {
  std::string host;       // without brackets for IPv6
  std::string port;       // "80" when the URL has none
  std::string base_path;  // "" or "/prefix", without a trailing slash
  std::string url;        // as given, for messages
};

// Parses an http:// URL (a URL without a scheme is taken as http). nullopt and `error` set when
// it is not one sagactl can use (https, credentials in the URL, no host, a bad port).
std::optional<Endpoint> parse_url(std::string_view url, std::string& error);

// Percent-encodes a path segment or a query value (everything but RFC 3986's unreserved).
std::string url_encode(std::string_view text);

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string target;          // path and query, e.g. "/api/sagas?flow=x"; base_path is prepended
  std::string body;
  std::string content_type;  // none when empty
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class HttpError : public std::runtime_error {
 public:
  enum class Kind {
    connect,   // resolve or connect failed: nobody answers there
    timeout,   // the deadline passed before the whole answer came
    protocol,  // the peer broke the connection or did not speak HTTP/1.1
  };
  HttpError(Kind kind, const std::string& message) : std::runtime_error(message), kind(kind) {}
  Kind kind;
};

// Sends one request and reads the whole answer within `timeout`. Throws HttpError.
HttpResponse http_request(const Endpoint& endpoint, const HttpRequest& request,
                          std::chrono::milliseconds timeout);

// Sends a request whose answer goes on (Server-Sent Events). With a 2xx answer, `on_data` is
// called with each piece of the body as it arrives, until it returns false or the server ends
// the answer, and the response's body stays empty; another answer is read whole. `idle_timeout`
// bounds connecting and each wait for the next piece (the server sends a heartbeat). Throws
// HttpError.
HttpResponse http_stream(const Endpoint& endpoint, const HttpRequest& request,
                         std::chrono::milliseconds idle_timeout,
                         const std::function<bool(std::string_view piece)>& on_data);

}  // namespace sagactl
