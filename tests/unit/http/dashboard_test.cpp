// The dashboard's routes on handle_request: its pages and files with their content types,
// cache validators and Content-Security-Policy, 404 for a file it does not have, and the pages
// served without the token while /api still needs it. (The pages in a browser:
// tests/browser/dashboard_test.py.)
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <string>

#include "api_world.hpp"
#include "sagaflow/http/dashboard.hpp"

using namespace sagaflow;
using namespace sagaflow::http;
using namespace sagaflow::http::testing;

namespace {

constexpr std::string_view kToken = "admin-token-0123456789";

Response get(ApiWorld& w, std::string target, std::string_view token = {}) {
  return w.call(verb::get, std::move(target), {}, token);
}

// The /ui/ files a page links: <script src> and <link href>.
std::set<std::string> linked_files(const std::string& html) {
  std::set<std::string> out;
  const std::regex link(R"re((?:src|href)="(/ui/[^"]+)")re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), link); it != std::sregex_iterator();
       ++it) {
    out.insert((*it)[1].str());
  }
  return out;
}

}  // namespace

TEST_CASE("GET / is the saga list page and /sagas/{id} a saga's page, as HTML") {
  ApiWorld w;
  auto list = get(w, "/");
  CHECK(list.result() == status::ok);
  CHECK(list[field::content_type] == "text/html; charset=utf-8");
  CHECK(list.body().find("/ui/list.js") != std::string::npos);
  CHECK(list.body() == find_dashboard_file("index.html")->bytes);

  // A query string is the page's own (its filters): the same page.
  CHECK(get(w, "/?flow=order&status=failed").body() == list.body());

  auto saga = get(w, "/sagas/0b7c5d9e-any-id");
  CHECK(saga.result() == status::ok);
  CHECK(saga[field::content_type] == "text/html; charset=utf-8");
  CHECK(saga.body().find("/ui/saga.js") != std::string::npos);
  CHECK(saga.body().find("/ui/sequence.js") != std::string::npos);
  // The id is the script's business: a saga that does not exist still gets the page.
  CHECK(get(w, "/sagas/no-such-saga").result() == status::ok);
}

TEST_CASE("the files under /ui/ have their content types") {
  ApiWorld w;
  struct Case {
    const char* target;
    const char* type;
  };
  for (auto c : {Case{"/ui/style.css", "text/css; charset=utf-8"},
                 Case{"/ui/common.js", "text/javascript; charset=utf-8"},
                 Case{"/ui/list.js", "text/javascript; charset=utf-8"},
                 Case{"/ui/saga.js", "text/javascript; charset=utf-8"},
                 Case{"/ui/sequence.js", "text/javascript; charset=utf-8"},
                 Case{"/ui/favicon.svg", "image/svg+xml"},
                 Case{"/ui/index.html", "text/html; charset=utf-8"}}) {
    CAPTURE(c.target);
    auto res = get(w, c.target);
    CHECK(res.result() == status::ok);
    CHECK(res[field::content_type] == c.type);
    CHECK(res["X-Content-Type-Options"] == "nosniff");
    CHECK_FALSE(res.body().empty());
    CHECK(res[field::content_length] == std::to_string(res.body().size()));
  }
  CHECK(content_type_of("a.json") == "application/json");
  CHECK(content_type_of("noextension") == "application/octet-stream");
}

TEST_CASE("every file a page links is embedded and served") {
  ApiWorld w;
  for (const char* page : {"/", "/sagas/x", "/audit"}) {
    CAPTURE(page);
    auto links = linked_files(get(w, page).body());
    CHECK(links.size() >= 3);
    for (const auto& link : links) {
      CAPTURE(link);
      CHECK(get(w, link).result() == status::ok);
    }
  }
}

TEST_CASE("every dashboard answer carries a CSP that allows only this origin's scripts") {
  ApiWorld w;
  for (const char* target : {"/", "/sagas/x", "/ui/saga.js", "/ui/style.css", "/ui/nope.js"}) {
    CAPTURE(target);
    auto res = get(w, target);
    const std::string csp(res["Content-Security-Policy"]);
    CHECK(csp == kDashboardPolicy);
    CHECK(csp.find("script-src 'self'") != std::string::npos);
    CHECK(csp.find("default-src 'none'") != std::string::npos);
    CHECK(csp.find("unsafe-inline") == std::string::npos);
    CHECK(csp.find("unsafe-eval") == std::string::npos);
    CHECK(res["X-Frame-Options"] == "DENY");
  }
  // The pages keep to it: no inline script or style, no handler attributes.
  for (const char* page : {"index.html", "saga.html", "audit.html"}) {
    CAPTURE(page);
    const std::string html(find_dashboard_file(page)->bytes);
    CHECK(std::regex_search(html, std::regex("<script src=")));
    CHECK_FALSE(std::regex_search(html, std::regex("<script(?![^>]*\\bsrc=)[^>]*>")));
    CHECK_FALSE(std::regex_search(html, std::regex("<style")));
    CHECK_FALSE(std::regex_search(html, std::regex("\\son[a-z]+=")));
    CHECK_FALSE(std::regex_search(html, std::regex("\\sstyle=")));
  }
  // And the scripts never parse data as markup.
  for (const auto& file : embedded_dashboard_files()) {
    if (!file.name.ends_with(".js")) continue;
    CAPTURE(file.name);
    const std::string js(file.bytes);
    CHECK(js.find("innerHTML") == std::string::npos);
    CHECK(js.find("outerHTML") == std::string::npos);
    CHECK(js.find("insertAdjacentHTML") == std::string::npos);
    CHECK(js.find("document.write") == std::string::npos);
    CHECK(js.find("eval(") == std::string::npos);
  }
}

TEST_CASE("the files revalidate with a strong ETag: a match is a 304 without a body") {
  ApiWorld w;
  auto first = get(w, "/ui/saga.js");
  CHECK(first[field::cache_control] == "no-cache");
  const std::string etag(first[field::etag]);
  REQUIRE(etag.size() == 18);
  CHECK(etag.front() == '"');
  CHECK(get(w, "/ui/saga.js")[field::etag] == etag);  // stable
  CHECK(get(w, "/ui/list.js")[field::etag] != etag);  // per file

  auto again = ApiWorld::request(verb::get, "/ui/saga.js");
  again.set(field::if_none_match, "\"0000000000000000\", " + etag);
  auto res = w.settle(w.begin(again));
  CHECK(res.result() == status::not_modified);
  CHECK(res.body().empty());
  CHECK(res[field::etag] == etag);

  auto weak = ApiWorld::request(verb::get, "/ui/saga.js");
  weak.set(field::if_none_match, "W/" + etag);
  CHECK(w.settle(w.begin(weak)).result() == status::not_modified);

  auto other = ApiWorld::request(verb::get, "/ui/saga.js");
  other.set(field::if_none_match, "\"0000000000000000\"");
  auto full = w.settle(w.begin(other));
  CHECK(full.result() == status::ok);
  CHECK(full.body() == first.body());

  CHECK(get(w, "/")[field::cache_control] == "no-cache");
}

TEST_CASE("HEAD answers a file's headers and length without its body") {
  ApiWorld w;
  auto res = w.call(verb::head, "/ui/style.css");
  CHECK(res.result() == status::ok);
  CHECK(res[field::content_type] == "text/css; charset=utf-8");
  CHECK(res.body().empty());
  CHECK(res[field::content_length] ==
        std::to_string(find_dashboard_file("style.css")->bytes.size()));
}

TEST_CASE("an unknown dashboard file is a 404 JSON error, another method than GET or HEAD a 405") {
  ApiWorld w;
  for (const char* target :
       {"/ui/nope.js", "/ui/", "/ui/../index.html", "/ui/a/saga.js", "/ui/saga.js/",
        "/ui/%73aga.js", "/sagas/", "/sagas/a/b", "/sagas", "/index.html"}) {
    CAPTURE(target);
    auto res = get(w, target);
    CHECK(res.result() == status::not_found);
    CHECK(error_code(res) == "not_found");
  }
  for (const char* target : {"/", "/sagas/x", "/ui/saga.js"}) {
    CAPTURE(target);
    auto res = w.call(verb::post, target, "{}");
    CHECK(res.result() == status::method_not_allowed);
    CHECK(error_code(res) == "method_not_allowed");
    CHECK(res[field::allow] == "GET, HEAD");
  }
}

TEST_CASE("with a token, the pages and files are served without it while /api needs it") {
  ApiWorld w({.token = std::string(kToken)});
  for (const char* target : {"/", "/sagas/x", "/ui/common.js", "/ui/style.css"}) {
    CAPTURE(target);
    auto res = get(w, target);
    CHECK(res.result() == status::ok);
    CHECK(res.body().find(kToken) == std::string::npos);
  }
  CHECK(get(w, "/ui/nope.js").result() == status::not_found);  // not a 401: nothing to hide
  for (const char* target : {"/api/sagas", "/api/counts", "/api/flows", "/api/sagas/x"}) {
    CAPTURE(target);
    auto res = get(w, target);
    CHECK(res.result() == status::unauthorized);
    CHECK(error_code(res) == "unauthorized");
    CHECK(get(w, target, kToken).result() != status::unauthorized);
  }
  // /api stays /api: a page's prefix does not open it.
  CHECK(get(w, "/ui/../api/sagas").result() == status::not_found);
  CHECK(get(w, "/sagas/x/../../api/sagas").result() == status::unauthorized);
}

TEST_CASE("the embedded files are the folder's, each once") {
  std::set<std::string_view> names;
  for (const auto& f : embedded_dashboard_files()) {
    CHECK(names.insert(f.name).second);
    CHECK_FALSE(f.bytes.empty());
    CHECK(f.bytes.data()[f.bytes.size()] == '\0');  // the generator's terminator, left out
  }
  for (const char* name :
       {"index.html", "saga.html", "style.css", "common.js", "list.js", "saga.js", "sequence.js",
        "favicon.svg", "controls.js", "audit.html", "audit.js"}) {
    CAPTURE(name);
    CHECK(names.contains(name));
  }
  CHECK(find_dashboard_file("nope.js") == nullptr);
}
