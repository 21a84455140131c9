#pragma once
// The dashboard (docs/admin-api.md, "Dashboard"): static HTML, CSS and JavaScript from
// adapters/http/dashboard/, embedded into the binary at build time (cmake/embed_files.cmake), so
// that sagaflowd needs no file path at run time. The pages hold no data: they are served without
// the admin token, and their scripts call /api with it.
//
//   GET /             the saga list (index.html)
//   GET /sagas/{id}   one saga's page (saga.html; its script reads the id from the URL)
//   GET /ui/{file}    every file of the folder, by name
//
// Every answer carries its content type, `Cache-Control: no-cache` with a strong ETag (a
// revalidation costs a 304; a new binary's files are never served stale), and a
// Content-Security-Policy that allows scripts, styles and fetches from this origin only (no
// inline script, no eval).
#include <optional>
#include <span>
#include <string_view>

#include "sagaflow/http/admin_api.hpp"

namespace sagaflow::http {

struct EmbeddedFile {
  std::string_view name;   // "index.html", "saga.js"
  std::string_view bytes;  // the file's content
};

// The files of adapters/http/dashboard/, by name (generated at build time).
std::span<const EmbeddedFile> embedded_dashboard_files();

// The embedded file of that name, or null.
const EmbeddedFile* find_dashboard_file(std::string_view name);

// "text/javascript; charset=utf-8" for "saga.js", and so on by extension.
std::string_view content_type_of(std::string_view name);

// The policy every dashboard answer carries.
inline constexpr std::string_view kDashboardPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

// The answer when `path` (the target without its query) is a dashboard route: the file, a 304,
// a 404 for an unknown file or a 405 for a method other than GET and HEAD. nullopt for any
// other path. Needs no token.
std::optional<Response> dashboard_response(const Request& request, std::string_view path);

}  // namespace sagaflow::http
