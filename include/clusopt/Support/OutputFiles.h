//===- OutputFiles.h - atomic outputs and private scratch space -*- C++ -*-===//
//
// Every file a clusopt tool or the runtime writes goes through here:
//
// - An output is written to a fresh temporary beside it (created with
//   O_EXCL, under a random name) and renamed over the path at the end. A
//   symlink planted at the path is replaced, never written through; a run
//   that fails or is interrupted leaves the previous file as it was and no
//   half-written one.
// - Intermediate files live in a private (0700) scratch directory under
//   $TMPDIR named <tool>-<pid>-XXXXXX. It is removed on exit and on
//   SIGINT/SIGTERM/SIGHUP (after terminating the children started with
//   runProgram); directories of dead processes (kill -9) are swept by
//   removeStaleScratchDirectories.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_SUPPORT_OUTPUTFILES_H
#define CLUSOPT_SUPPORT_OUTPUTFILES_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace clusopt {

/// An output being written. Nothing appears at `path` until commit(); if the
/// object is destroyed first, the temporary is removed. '-' is stdout, and
/// an existing device or pipe (e.g. /dev/null) is written directly.
class PendingOutput {
public:
  /// Starts writing `path`; the file gets `mode` (less the umask).
  static llvm::Expected<PendingOutput>
  create(llvm::StringRef path,
         unsigned mode = llvm::sys::fs::all_read | llvm::sys::fs::all_write);
  PendingOutput(PendingOutput &&other);
  PendingOutput &operator=(PendingOutput &&other) = delete;
  ~PendingOutput();

  llvm::raw_pwrite_stream &os() { return *stream; }
  /// Flushes, then renames the temporary over the path.
  llvm::Error commit();
  /// Removes the temporary (also done by the destructor).
  void discard();

private:
  PendingOutput(std::string path) : path(std::move(path)) {}
  std::string path;
  std::optional<llvm::sys::fs::TempFile> temp;
  std::unique_ptr<llvm::raw_fd_ostream> stream;
};

/// Writes `path` atomically with what `write` produces; an error from
/// `write` leaves `path` untouched.
llvm::Error
writeOutput(llvm::StringRef path,
            llvm::function_ref<llvm::Error(llvm::raw_pwrite_stream &)> write,
            unsigned mode = llvm::sys::fs::all_read | llvm::sys::fs::all_write);
llvm::Error writeOutput(llvm::StringRef path, llvm::StringRef contents);

/// Checks, before any work, that `path` can be an output: not a directory,
/// in a directory that exists, and both writable. "-" (stdout) and existing
/// devices or pipes always can. An error names `flag` when one is given.
llvm::Error checkOutputPath(llvm::StringRef path, llvm::StringRef flag = "");

/// Checks that no two of the outputs a run writes (role, path) are the same
/// file, e.g. `-o k.h` and the C header written beside it as k.h.
llvm::Error checkDistinctOutputs(
    llvm::ArrayRef<std::pair<std::string, std::string>> outputs);

/// A private directory for intermediate files, removed by the destructor
/// and when the process gets SIGINT, SIGTERM or SIGHUP.
class ScratchDirectory {
public:
  /// Creates $TMPDIR/<tool>-<pid>-XXXXXX, mode 0700.
  static llvm::Expected<std::unique_ptr<ScratchDirectory>>
  create(llvm::StringRef tool);
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory &) = delete;
  ScratchDirectory &operator=(const ScratchDirectory &) = delete;

  llvm::StringRef path() const { return dir; }
  /// `name` inside the directory.
  std::string file(llvm::StringRef name) const;

private:
  ScratchDirectory() = default;
  llvm::SmallString<128> dir;
  int slot = -1;
};

/// Removes the scratch directories $TMPDIR/<tool>-<pid>-XXXXXX that belong
/// to this user and whose process no longer exists (left by kill -9).
/// Returns how many it removed.
size_t removeStaleScratchDirectories(llvm::StringRef tool);

/// sys::ExecuteAndWait, except that if this process gets SIGINT, SIGTERM or
/// SIGHUP meanwhile, the child is terminated first (so that it, too, removes
/// its scratch files).
int runProgram(llvm::StringRef program, llvm::ArrayRef<llvm::StringRef> args,
               llvm::ArrayRef<std::optional<llvm::StringRef>> redirects = {},
               std::string *error = nullptr);

} // namespace clusopt

#endif // CLUSOPT_SUPPORT_OUTPUTFILES_H
