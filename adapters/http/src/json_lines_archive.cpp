#include "sagaflow/http/json_lines_archive.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include "sagaflow/http/saga_json.hpp"
#include "sagaflow/http/wire.hpp"
#include "sagaflow/text/utf8.hpp"

namespace sagaflow::http {

namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("archive: " + what + " " + path.string() + ": " + std::strerror(errno));
}

// Closes the descriptor at the end of the scope.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

void sync_folder(const std::filesystem::path& dir) {
  Descriptor folder{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (folder.fd < 0) fail("cannot open the folder", dir);
  if (::fsync(folder.fd) != 0) fail("cannot sync the folder", dir);
}

}  // namespace

JsonLinesArchive::JsonLinesArchive(std::filesystem::path dir, const FlowRegistry& flows,
                                   const Clock& clock)
    : dir_(std::move(dir)), flows_(flows), clock_(clock) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw std::runtime_error("archive: cannot create " + dir_.string() + ": " + ec.message());
}

std::filesystem::path JsonLinesArchive::file_for(Timestamp at) const {
  return dir_ / ("sagas-" + format_time(at).substr(0, 10) + ".jsonl");
}

void JsonLinesArchive::write(std::span<const ArchivedSaga> sagas) {
  if (sagas.empty()) return;
  std::string lines;
  for (const auto& archived : sagas) {
    json::value line = saga_detail_json(archived.saga, archived.history, flows_);
    std::string text = json::serialize(line);
    if (text::first_invalid_utf8(text)) {
      // Text stored before UTF-8 was checked: escaped, so that every line stays JSON.
      make_printable(line, Strings::malformed);
      text = json::serialize(line);
    }
    lines += text;
    lines += '\n';
  }
  const auto path = file_for(clock_.now());
  const bool is_new = !std::filesystem::exists(path);
  Descriptor file{::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640)};
  if (file.fd < 0) fail("cannot open", path);
  std::size_t done = 0;
  while (done < lines.size()) {
    const auto n = ::write(file.fd, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write", path);
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(file.fd) != 0) fail("cannot sync", path);
  if (is_new) sync_folder(dir_);
}

}  // namespace sagaflow::http
