//===- CommandLine.cpp - The tools' shared command-line parsing -----------===//

#include "clusopt/Support/CommandLine.h"

#include "lib/Support/Version.inc"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

namespace clusopt {

std::string versionString() {
  return std::string("clusopt ") + CLUSOPT_VERSION + " (git " +
         CLUSOPT_GIT_HASH + ")";
}

void installVersionPrinter() {
  cl::SetVersionPrinter([](raw_ostream &os) {
    os << versionString() << "\n"
       << "LLVM " << LLVM_VERSION_STRING << "\n";
  });
}

bool parseCommandLine(int argc, const char *const *argv, StringRef overview,
                      cl::OptionCategory &category) {
  installVersionPrinter();
  // Hidden, not ReallyHidden (as cl::HideUnrelatedOptions would), so that
  // --help-hidden still lists them.
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *option = entry.second;
    bool related = any_of(option->Categories, [&](cl::OptionCategory *c) {
      return c == &category || c->getName() == "Generic Options";
    });
    if (!related && option->getOptionHiddenFlag() == cl::NotHidden)
      option->setHiddenFlag(cl::Hidden);
  }
  cl::ParseCommandLineOptions(argc, argv, overview);

  // One value each: an option that takes a single value (not a cl::list,
  // not one declared ZeroOrMore/OneOrMore) may appear once. Aliases count
  // towards the option they stand for.
  StringRef tool = sys::path::filename(argv[0]);
  SmallPtrSet<cl::Option *, 32> seen;
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *option = entry.second;
    if (!seen.insert(option).second ||
        !is_contained(option->Categories, &category))
      continue;
    auto flag = option->getNumOccurrencesFlag();
    if ((flag == cl::Optional || flag == cl::Required) &&
        !option->isPositional() && option->getNumOccurrences() > 1) {
      errs() << tool << ": error: --" << option->ArgStr
             << " may be given only once (given " << option->getNumOccurrences()
             << " times)\n";
      return false;
    }
  }
  return true;
}

} // namespace clusopt
