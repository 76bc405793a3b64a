//===- CommandLine.h - The tools' shared command-line parsing ---*- C++ -*-===//
//
// Every clusopt tool parses its command line through here, so that all of
// them behave alike:
//   - --version prints clusopt's version and git commit, then LLVM's;
//   - --help lists the tool's own options (its category) and the generic
//     --help/--version ones; the ~370 options the linked LLVM and MLIR
//     libraries register are hidden, and --help-hidden lists them;
//   - a single-valued option given twice is an error naming it (LLVM 22
//     silently keeps the last value).
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_LIB_SUPPORT_COMMANDLINE_H
#define CLUSOPT_LIB_SUPPORT_COMMANDLINE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"

#include <string>

namespace clusopt {

/// "clusopt 0.1.0 (git 0123456789ab)"; the hash is "unknown" when the tree
/// was built without git.
std::string versionString();

/// Installs the version printer (also for tools that parse their command
/// line elsewhere, such as clusopt-opt through MLIR).
void installVersionPrinter();

/// Parses argc/argv as described above. Returns false after printing
/// "TOOL: error: ..." for an option given more than once; other errors
/// (unknown options, bad values) exit through LLVM as usual.
bool parseCommandLine(int argc, const char *const *argv,
                      llvm::StringRef overview,
                      llvm::cl::OptionCategory &category);

} // namespace clusopt

#endif // CLUSOPT_LIB_SUPPORT_COMMANDLINE_H
