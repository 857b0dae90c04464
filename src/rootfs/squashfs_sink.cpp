#include "rootfs/squashfs_sink.h"

#include <sys/mman.h>
#include <sys/socket.h>

#include <thread>

#include "util/error.h"
#include "util/socket.h"

namespace mcpvm::rootfs {
namespace {

std::string read_memfd(int fd) {
  std::string text;
  char buf[4096];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, off);
    if (n <= 0) break;
    text.append(buf, size_t(n));
    off += n;
    if (text.size() > 64 * 1024) break;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  // One line for the error message: the last one is the most specific.
  size_t nl = text.rfind('\n');
  return nl == std::string::npos ? text : text.substr(nl + 1);
}

std::vector<std::string> tar2sqfs_argv(const std::filesystem::path& out, const BuildOptions& o) {
  unsigned jobs = o.jobs != 0 ? o.jobs : std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> argv = {"tar2sqfs",     "--quiet",    "--force",    "--no-skip",
                                   "--compressor", o.compressor, "--num-jobs", std::to_string(jobs)};
  std::string extra = o.compressor_options;
  if (extra.empty() && o.compressor == "zstd") extra = "level=3";
  if (!extra.empty()) argv.insert(argv.end(), {"--comp-extra", extra});
  argv.push_back(out.string());
  return argv;
}

}  // namespace

SquashfsSink::SquashfsSink(const std::filesystem::path& out, const BuildOptions& options) {
  auto [ours, child_end] = stream_socketpair();
  socket_ = std::move(ours);
  stderr_.reset(::memfd_create("tar2sqfs-stderr", MFD_CLOEXEC));
  if (!stderr_) fail_errno("memfd_create");

  SpawnOptions spawn;
  spawn.fds = {{child_end.get(), 0}, {stderr_.get(), 2}};
  spawn.stdout_null = true;
  child_ = Subprocess::spawn(tar2sqfs_argv(out, options), spawn);
  child_end.reset();  // only the child reads; EOF reaches it when we close ours

  writer_.reset(archive_write_new());
  if (!writer_) fail("archive_write_new: out of memory");
  archive* w = writer_.get();
  if (archive_write_set_format_pax_restricted(w) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(w, 64 * 1024) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(w, 1) != ARCHIVE_OK ||
      archive_write_open2(w, this, nullptr, &SquashfsSink::write_callback, nullptr, nullptr) != ARCHIVE_OK)
    fail("setting up the tar stream: {}", archive_error_string(w));
}

SquashfsSink::~SquashfsSink() = default;  // Subprocess kills an unfinished tar2sqfs

la_ssize_t SquashfsSink::write_callback(archive* a, void* self, const void* data, size_t size) {
  auto* sink = static_cast<SquashfsSink*>(self);
  const char* p = static_cast<const char*>(data);
  size_t left = size;
  while (left > 0) {
    // MSG_NOSIGNAL: a tar2sqfs that died must give us EPIPE, not kill us with SIGPIPE.
    ssize_t n = ::send(sink->socket_.get(), p, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "writing to tar2sqfs: %s", std::strerror(errno));
      return -1;
    }
    p += n;
    left -= size_t(n);
  }
  return la_ssize_t(size);
}

void SquashfsSink::fail_writing(std::string_view what) {
  std::string reason = archive_error_string(writer_.get()) ? archive_error_string(writer_.get()) : "unknown";
  // When the writer broke because tar2sqfs exited, its own message is the useful one.
  socket_.reset();
  if (auto status = child_.wait_for(std::chrono::seconds(5)); status && !status->exited()) {
    fail("{}: tar2sqfs {}", what, status->describe());
  } else if (status && status->code() != 0) {
    fail("{}: tar2sqfs: {}", what, read_memfd(stderr_.get()));
  }
  fail("{}: {}", what, reason);
}

void SquashfsSink::write_header(archive_entry* entry) {
  if (archive_write_header(writer_.get(), entry) < ARCHIVE_WARN) fail_writing("writing a tar header");
}

void SquashfsSink::write_data(const void* data, size_t size) {
  if (archive_write_data(writer_.get(), data, size) != la_ssize_t(size)) fail_writing("writing file data");
}

void SquashfsSink::finish() {
  if (archive_write_close(writer_.get()) != ARCHIVE_OK) fail_writing("ending the tar stream");
  socket_.reset();
  ExitStatus status = child_.wait();
  if (!status.exited() || status.code() != 0) {
    std::string message = read_memfd(stderr_.get());
    fail("tar2sqfs {}{}{}", status.describe(), message.empty() ? "" : ": ", message);
  }
}

}  // namespace mcpvm::rootfs
