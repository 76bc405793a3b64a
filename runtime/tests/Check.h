//===- Check.h - Assertions for the runtime test drivers --------*- C++ -*-===//
//
// No test framework is installed, so each driver checks with these macros
// and exits non-zero with the failed condition; lit runs the drivers.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_TESTS_CHECK_H
#define CLUSOPT_RUNTIME_TESTS_CHECK_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      llvm::errs() << __FILE__ << ":" << __LINE__                              \
                   << ": check failed: " << #cond << "\n";                     \
      std::exit(1);                                                            \
    }                                                                          \
  } while (0)

/// The value of an Expected, or exit with its error.
template <typename T> T checkOk(llvm::Expected<T> value, const char *what) {
  if (!value) {
    llvm::errs() << what
                 << ": unexpected error: " << llvm::toString(value.takeError())
                 << "\n";
    std::exit(1);
  }
  return std::move(*value);
}

/// Exits with `err` if it is an error.
inline void checkOk(llvm::Error err, const char *what) {
  if (err) {
    llvm::errs() << what
                 << ": unexpected error: " << llvm::toString(std::move(err))
                 << "\n";
    std::exit(1);
  }
}

/// The message of an error that must be there; exits if there is none.
inline std::string errorOf(llvm::Error err, const char *what) {
  if (!err) {
    llvm::errs() << what << ": expected an error, got success\n";
    std::exit(1);
  }
  return llvm::toString(std::move(err));
}

template <typename T>
std::string errorOf(llvm::Expected<T> value, const char *what) {
  if (value) {
    llvm::errs() << what << ": expected an error, got success\n";
    std::exit(1);
  }
  return llvm::toString(value.takeError());
}

#endif // CLUSOPT_RUNTIME_TESTS_CHECK_H
