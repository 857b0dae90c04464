// A squashfs writer fed with tar entries: a tar2sqfs child process (squashfs-tools-ng, on libsquashfs)
// reading a PAX stream that libarchive writes into a socket. Owning it owns the child: destroying an
// unfinished sink kills tar2sqfs, and the caller's temporary output is discarded.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <memory>
#include <string>

#include "rootfs/build.h"
#include "util/fd.h"
#include "util/process.h"

namespace mcpvm::rootfs {

class SquashfsSink : public EntrySink {
 public:
  // Starts tar2sqfs writing (overwriting) `out`.
  SquashfsSink(const std::filesystem::path& out, const BuildOptions& options);
  ~SquashfsSink() override;
  SquashfsSink(const SquashfsSink&) = delete;
  SquashfsSink& operator=(const SquashfsSink&) = delete;

  void write_header(archive_entry* entry) override;
  void write_data(const void* data, size_t size) override;
  // Ends the stream and waits for tar2sqfs. Throws Error with tar2sqfs's message if it failed.
  void finish();

 private:
  static la_ssize_t write_callback(archive*, void* self, const void* data, size_t size);
  [[noreturn]] void fail_writing(std::string_view what);

  UniqueFd socket_;  // our end of the stream
  UniqueFd stderr_;  // memfd holding tar2sqfs's stderr
  Subprocess child_;
  std::unique_ptr<archive, int (*)(archive*)> writer_{nullptr, archive_write_free};
};

}  // namespace mcpvm::rootfs
