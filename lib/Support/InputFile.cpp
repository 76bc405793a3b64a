//===- InputFile.cpp - Reading the files users name -----------------------===//

#include "clusopt/Support/InputFile.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;

namespace clusopt {

namespace {

/// What a non-regular file is, for the error.
const char *fileTypeName(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "a special file";
}

Error ioError(StringRef path, int errnum) {
  return createStringError(
      path + ": cannot read: " +
      std::error_code(errnum, std::generic_category()).message());
}

/// The checks of checkInputFile on an open descriptor; the file's size.
Expected<uint64_t> checkOpenFile(int fd, StringRef path,
                                 const InputKind &kind) {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    return ioError(path, errno);
  if (!S_ISREG(st.st_mode))
    return createStringError(
        formatv("{0}: is {1}, not a regular file ({2} are read from "
                "regular files of at most {3})",
                path, fileTypeName(st.st_mode), kind.name,
                formatByteLimit(kind.maxBytes))
            .str());
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > kind.maxBytes)
    return createStringError(
        formatv("{0}: {1} bytes, over the {2} limit for {3}", path, size,
                formatByteLimit(kind.maxBytes), kind.name)
            .str());
  return size;
}

/// Opens without blocking: opening a FIFO for reading waits for a writer
/// unless O_NONBLOCK is given.
Expected<int> openForCheck(StringRef path) {
  SmallString<256> name(path);
  int fd;
  do
    fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return ioError(path, errno);
  return fd;
}

Expected<std::unique_ptr<MemoryBuffer>> readStdin(const InputKind &kind,
                                                  bool requiresNullTerminator) {
  SmallString<0> text;
  sys::fs::file_t in = sys::fs::getStdinHandle();
  constexpr size_t kChunk = 1 << 16;
  while (true) {
    size_t used = text.size();
    text.resize_for_overwrite(used + kChunk);
    Expected<size_t> got = sys::fs::readNativeFile(
        in, MutableArrayRef<char>(text.data() + used, kChunk));
    if (!got)
      return createStringError("<stdin>: cannot read: " +
                               toString(got.takeError()));
    text.truncate(used + *got);
    if (*got == 0)
      break;
    if (text.size() > kind.maxBytes)
      return createStringError(
          formatv("<stdin>: more than {0}, the limit for {1}",
                  formatByteLimit(kind.maxBytes), kind.name)
              .str());
  }
  (void)requiresNullTerminator; // getMemBufferCopy always adds one
  return MemoryBuffer::getMemBufferCopy(text, "<stdin>");
}

} // namespace

std::string formatByteLimit(uint64_t bytes) {
  if (bytes % (1ull << 30) == 0)
    return formatv("{0} GiB", bytes >> 30).str();
  if (bytes % (1ull << 20) == 0)
    return formatv("{0} MiB", bytes >> 20).str();
  return formatv("{0} bytes", bytes).str();
}

Error checkInputFile(StringRef path, const InputKind &kind, bool allowStdin) {
  if (allowStdin && path == "-")
    return Error::success();
  Expected<int> fd = openForCheck(path);
  if (!fd)
    return fd.takeError();
  Expected<uint64_t> size = checkOpenFile(*fd, path, kind);
  ::close(*fd);
  return size.takeError();
}

Expected<std::unique_ptr<MemoryBuffer>>
readInputFile(StringRef path, const InputKind &kind,
              bool requiresNullTerminator, bool allowStdin) {
  if (allowStdin && path == "-")
    return readStdin(kind, requiresNullTerminator);
  Expected<int> fd = openForCheck(path);
  if (!fd)
    return fd.takeError();
  Expected<uint64_t> size = checkOpenFile(*fd, path, kind);
  if (!size) {
    ::close(*fd);
    return size.takeError();
  }
  // A regular file ignores O_NONBLOCK; the buffer is read (or mapped) from
  // the descriptor that was checked.
  ErrorOr<std::unique_ptr<MemoryBuffer>> buffer =
      MemoryBuffer::getOpenFile(*fd, path, *size, requiresNullTerminator);
  ::close(*fd);
  if (!buffer)
    return createStringError(path +
                             ": cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

} // namespace clusopt
