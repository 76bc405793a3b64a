//===- OutputFiles.cpp - atomic outputs and private scratch space ---------===//

#include "clusopt/Support/OutputFiles.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <mutex>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace clusopt;
namespace fs = llvm::sys::fs;
namespace path = llvm::sys::path;
using llvm::Error;
using llvm::StringRef;
using llvm::Twine;

static Error writeError(StringRef file, const Twine &why) {
  return llvm::createStringError("cannot write " + file + ": " + why);
}

//===----------------------------------------------------------------------===//
// PendingOutput
//===----------------------------------------------------------------------===//

llvm::Expected<PendingOutput> PendingOutput::create(StringRef path,
                                                    unsigned mode) {
  PendingOutput out(path.str());
  std::error_code ec;
  fs::file_status status;
  // Streams (stdout, /dev/null, a pipe) cannot be replaced by a rename.
  bool isStream = path == "-";
  if (!isStream && !fs::status(path, status, /*Follow=*/true) &&
      fs::exists(status)) {
    if (fs::is_directory(status))
      return writeError(path, "it is a directory");
    isStream = !fs::is_regular_file(status);
  }
  if (isStream) {
    out.stream = std::make_unique<llvm::raw_fd_ostream>(path, ec);
    if (ec)
      return writeError(path, ec.message());
    return std::move(out);
  }
  // A random, O_EXCL-created name beside the output, so the rename stays in
  // one file system; nothing at the output path is opened.
  llvm::SmallString<256> model(path::parent_path(path));
  path::append(model, "." + path::filename(path) + ".tmp-%%%%%%%%");
  llvm::Expected<fs::TempFile> temp = fs::TempFile::create(model, mode);
  if (!temp)
    return writeError(path, llvm::toString(temp.takeError()));
  out.temp.emplace(std::move(*temp));
  out.stream = std::make_unique<llvm::raw_fd_ostream>(out.temp->FD,
                                                      /*shouldClose=*/false);
  return std::move(out);
}

PendingOutput::PendingOutput(PendingOutput &&other)
    : path(std::move(other.path)), stream(std::move(other.stream)) {
  if (other.temp) {
    temp.emplace(std::move(*other.temp));
    other.temp.reset();
  }
}

PendingOutput::~PendingOutput() { discard(); }

void PendingOutput::discard() {
  if (stream) {
    stream->clear_error();
    stream.reset();
  }
  if (temp) {
    llvm::consumeError(temp->discard());
    temp.reset();
  }
}

Error PendingOutput::commit() {
  stream->flush();
  if (stream->has_error()) {
    std::string why = stream->error().message();
    discard();
    return writeError(path, why);
  }
  stream.reset();
  if (!temp)
    return Error::success();
  // rename() replaces a symlink at `path` itself. (TempFile::keep(path)
  // would fall back to copying through it when the rename is refused.)
  if (std::error_code ec = fs::rename(temp->TmpName, path)) {
    discard();
    return writeError(path, ec.message());
  }
  // The temporary name is gone; this only closes the descriptor and stops
  // removing that name on a signal.
  Error kept = temp->keep();
  temp.reset();
  if (kept)
    return writeError(path, llvm::toString(std::move(kept)));
  return Error::success();
}

Error clusopt::writeOutput(
    StringRef path, llvm::function_ref<Error(llvm::raw_pwrite_stream &)> write,
    unsigned mode) {
  llvm::Expected<PendingOutput> out = PendingOutput::create(path, mode);
  if (!out)
    return out.takeError();
  if (Error err = write(out->os()))
    return err; // The destructor removes the temporary.
  return out->commit();
}

Error clusopt::writeOutput(StringRef path, StringRef contents) {
  return writeOutput(path, [&](llvm::raw_pwrite_stream &os) {
    os << contents;
    return Error::success();
  });
}

Error clusopt::checkOutputPath(StringRef path, StringRef flag) {
  if (path == "-")
    return Error::success();
  auto error = [&](const Twine &what) -> Error {
    if (flag.empty())
      return writeError(path, what);
    return llvm::createStringError(flag + "=" + path + ": " + what);
  };
  if (path.empty())
    return error("needs a path");
  if (fs::is_directory(path))
    return error("is a directory; give a file name");
  if (fs::exists(path) && !fs::is_regular_file(path) &&
      !fs::is_symlink_file(path))
    return Error::success(); // A device or pipe, written directly.
  if (fs::exists(path) && fs::access(path, fs::AccessMode::Write))
    return error("the file is not writable");
  llvm::SmallString<128> dir = path::parent_path(path);
  if (dir.empty())
    dir = ".";
  if (fs::exists(dir) && !fs::is_directory(dir))
    return error(dir + " is not a directory");
  if (!fs::is_directory(dir))
    return error("directory " + dir + " does not exist");
  if (fs::access(dir, fs::AccessMode::Write))
    return error("directory " + dir + " is not writable");
  return Error::success();
}

Error clusopt::checkDistinctOutputs(
    llvm::ArrayRef<std::pair<std::string, std::string>> outputs) {
  auto normalized = [](StringRef p) {
    llvm::SmallString<256> s(p);
    (void)fs::make_absolute(s);
    path::remove_dots(s, /*remove_dot_dot=*/true);
    return std::string(s);
  };
  for (size_t i = 0; i < outputs.size(); ++i)
    for (size_t j = i + 1; j < outputs.size(); ++j)
      if (outputs[i].second != "-" &&
          normalized(outputs[i].second) == normalized(outputs[j].second))
        return llvm::createStringError(
            outputs[i].first + " '" + outputs[i].second + "' and " +
            outputs[j].first + " '" + outputs[j].second +
            "' are the same file; one would overwrite the other");
  return Error::success();
}

//===----------------------------------------------------------------------===//
// Scratch directories and children, and their removal on a signal
//===----------------------------------------------------------------------===//

namespace {

// Fixed tables, so that the signal handler reads them without locks or
// allocation.
constexpr int kMaxScratch = 8;
constexpr int kMaxChildren = 256;
enum SlotState : int { Free, Claimed, Ready };
char scratchPaths[kMaxScratch][PATH_MAX];
std::atomic<int> scratchState[kMaxScratch];
std::atomic<pid_t> children[kMaxChildren];

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction previousActions[3];
std::once_flag installed;

/// Which of kSignals the process started with ignored (nohup ignores
/// SIGHUP). Read before main: InitLLVM installs its handlers over SIG_IGN.
const std::array<bool, 3> ignoredAtStart = [] {
  std::array<bool, 3> ignored{};
  for (int k = 0; k < 3; ++k) {
    struct sigaction current;
    ignored[k] = sigaction(kSignals[k], nullptr, &current) == 0 &&
                 !(current.sa_flags & SA_SIGINFO) &&
                 current.sa_handler == SIG_IGN;
  }
  return ignored;
}();

void pause(long milliseconds) {
  struct timespec t = {0, milliseconds * 1000000};
  nanosleep(&t, nullptr);
}

/// Removes `name` (relative to `parentFd`) and, for a directory, what is in
/// it, without following symlinks. Async-signal-safe: only system calls.
bool removeTree(int parentFd, const char *name, int depth) {
  if (unlinkat(parentFd, name, 0) == 0 || errno == ENOENT)
    return true;
#ifdef __linux__
  if (depth > 16)
    return false;
  int fd =
      openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT;
  alignas(8) char buffer[4096];
  // Removing entries while reading may skip some: read again until a pass
  // removes nothing.
  for (int pass = 0; pass < 8; ++pass) {
    bool removedAny = false;
    lseek(fd, 0, SEEK_SET);
    long n;
    while ((n = syscall(SYS_getdents64, fd, buffer, sizeof buffer)) > 0) {
      // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
      for (long offset = 0; offset < n;) {
        unsigned short length;
        std::memcpy(&length, buffer + offset + 16, sizeof length);
        const char *entry = buffer + offset + 19;
        offset += length;
        if (std::strcmp(entry, ".") == 0 || std::strcmp(entry, "..") == 0)
          continue;
        removedAny |= removeTree(fd, entry, depth + 1);
      }
    }
    if (!removedAny)
      break;
  }
  close(fd);
  return unlinkat(parentFd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
#else
  (void)depth;
  return false;
#endif
}

/// Set by the handler: runProgram starts no more children, and stops one it
/// has just started.
std::atomic<bool> terminating{false};

/// Terminates the tracked children (SIGTERM, so that they clean up; SIGKILL
/// after 3 s) and waits for them. Other threads may start a child
/// meanwhile, so the table is scanned again until it stays empty.
void terminateChildren() {
  terminating = true;
  for (int round = 0, quiet = 0; round < 10 && quiet < 2; ++round) {
    bool any = false;
    for (std::atomic<pid_t> &child : children)
      if (pid_t pid = child.load(); pid > 0) {
        kill(pid, SIGTERM);
        any = true;
      }
    for (std::atomic<pid_t> &child : children) {
      pid_t pid = child.load();
      if (pid <= 0)
        continue;
      bool gone = false;
      for (int i = 0; i < 300 && !gone; ++i) {
        gone = waitpid(pid, nullptr, WNOHANG) != 0;
        if (!gone)
          pause(10);
      }
      if (!gone) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      child.compare_exchange_strong(pid, 0);
    }
    quiet = any ? 0 : quiet + 1;
    pause(5);
  }
}

void onTerminationSignal(int sig, siginfo_t *info, void *context) {
  int savedErrno = errno;
  terminateChildren();
  for (int i = 0; i < kMaxScratch; ++i) {
    if (scratchState[i].load() != Ready)
      continue;
    // Other threads of this process, or a grandchild (the linker), may
    // still add a file or make the directory: remove it until it has been
    // gone twice in a row, 10 ms apart.
    for (int attempt = 0, gone = 0; attempt < 20 && gone < 2; ++attempt) {
      gone = removeTree(AT_FDCWD, scratchPaths[i], 0) ? gone + 1 : 0;
      pause(10);
    }
  }
  errno = savedErrno;
  // Then whatever handled the signal before (LLVM's removes the files of
  // RemoveFileOnSignal and re-raises), or the default action.
  int k = 0;
  while (kSignals[k] != sig)
    ++k;
  const struct sigaction &previous = previousActions[k];
  if (previous.sa_flags & SA_SIGINFO) {
    if (previous.sa_sigaction) {
      previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  sigaction(sig, &previous, nullptr);
  raise(sig); // Delivered, with the default action, when this returns.
}

void installSignalHandlers() {
  std::call_once(installed, [] {
    for (int k = 0; k < 3; ++k) {
      struct sigaction action;
      std::memset(&action, 0, sizeof action);
      action.sa_sigaction = onTerminationSignal;
      action.sa_flags = SA_SIGINFO;
      sigemptyset(&action.sa_mask);
      for (int sig : kSignals)
        sigaddset(&action.sa_mask, sig);
      struct sigaction previous;
      if (ignoredAtStart[k]) {
        // Put back what InitLLVM replaced: LLVM's handler would unregister
        // every handler, this one's included, and let the run go on.
        signal(kSignals[k], SIG_IGN);
        continue;
      }
      if (sigaction(kSignals[k], nullptr, &previous) != 0 ||
          (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler == SIG_IGN))
        continue;
      previousActions[k] = previous;
      sigaction(kSignals[k], &action, nullptr);
    }
  });
}

} // namespace

llvm::Expected<std::unique_ptr<ScratchDirectory>>
ScratchDirectory::create(StringRef tool) {
  installSignalHandlers();
  std::unique_ptr<ScratchDirectory> scratch(new ScratchDirectory);
  // The name is registered for the signal handler before the directory is
  // made (0700 from the start), so a signal at any point removes it.
  std::error_code ec;
  for (int attempt = 0; attempt < 128; ++attempt) {
    fs::createUniquePath(tool + "-" + Twine(getpid()) + "-%%%%%%", scratch->dir,
                         /*MakeAbsolute=*/true);
    (void)fs::make_absolute(scratch->dir);
    if (scratch->slot < 0 && scratch->dir.size() < PATH_MAX) {
      for (int i = 0; i < kMaxScratch && scratch->slot < 0; ++i) {
        int expected = Free;
        if (scratchState[i].compare_exchange_strong(expected, Claimed))
          scratch->slot = i;
      }
    }
    if (scratch->slot >= 0) {
      scratchState[scratch->slot] = Claimed;
      std::memcpy(scratchPaths[scratch->slot], scratch->dir.c_str(),
                  scratch->dir.size() + 1);
      scratchState[scratch->slot] = Ready;
    }
    ec = fs::create_directory(scratch->dir, /*IgnoreExisting=*/false,
                              fs::owner_all);
    if (ec != std::errc::file_exists)
      break;
  }
  if (ec) {
    if (scratch->slot >= 0)
      scratchState[scratch->slot] = Free;
    llvm::SmallString<128> tmp;
    path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
    return llvm::createStringError("cannot create a scratch directory in " +
                                   tmp + ": " + ec.message());
  }
  return std::move(scratch);
}

ScratchDirectory::~ScratchDirectory() {
  (void)fs::remove_directories(dir);
  if (slot >= 0)
    scratchState[slot] = Free;
}

std::string ScratchDirectory::file(StringRef name) const {
  llvm::SmallString<256> p(dir);
  path::append(p, name);
  return std::string(p);
}

size_t clusopt::removeStaleScratchDirectories(StringRef tool) {
  llvm::SmallString<128> tmp;
  path::system_temp_directory(/*ErasedOnReboot=*/true, tmp);
  std::vector<std::string> stale;
  std::error_code ec;
  for (fs::directory_iterator it(tmp, ec, /*follow_symlinks=*/false), end;
       !ec && it != end; it.increment(ec)) {
    // <tool>-<pid>-XXXXXX, as ScratchDirectory::create names them.
    StringRef name = path::filename(it->path());
    if (!name.consume_front(tool) || !name.consume_front("-"))
      continue;
    auto [pidText, suffix] = name.split('-');
    long long pid;
    if (pidText.getAsInteger(10, pid) || pid <= 0 || pid > INT_MAX ||
        suffix.size() != 6 || pid == getpid())
      continue;
    fs::file_status status;
    if (fs::status(it->path(), status, /*Follow=*/false) ||
        status.type() != fs::file_type::directory_file ||
        status.getUser() != geteuid())
      continue;
    if (kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH)
      continue; // Still running (or not ours to ask about).
    stale.push_back(it->path());
  }
  size_t removed = 0;
  for (const std::string &dir : stale)
    removed += !fs::remove_directories(dir);
  return removed;
}

int clusopt::runProgram(StringRef program, llvm::ArrayRef<StringRef> args,
                        llvm::ArrayRef<std::optional<StringRef>> redirects,
                        std::string *error) {
  installSignalHandlers();
  if (terminating) {
    if (error)
      *error = "interrupted";
    return -1;
  }
  bool executionFailed = false;
  llvm::sys::ProcessInfo child = llvm::sys::ExecuteNoWait(
      program, args, std::nullopt, redirects, 0, error, &executionFailed);
  if (executionFailed)
    return -1;
  int slot = -1;
  for (int i = 0; i < kMaxChildren && slot < 0; ++i) {
    pid_t expected = 0;
    if (children[i].compare_exchange_strong(expected, child.Pid))
      slot = i;
  }
  if (terminating) // The handler may have scanned the table already.
    kill(child.Pid, SIGTERM);
  llvm::sys::ProcessInfo done = llvm::sys::Wait(child, std::nullopt, error);
  if (slot >= 0) {
    pid_t pid = child.Pid;
    children[slot].compare_exchange_strong(pid, 0);
  }
  return done.ReturnCode;
}
