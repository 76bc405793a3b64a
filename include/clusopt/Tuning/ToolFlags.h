//===- ToolFlags.h - flag checks shared by clusopt's tools ------*- C++ -*-===//
//
// Parsing and range checks for the flags clusopt-compile and clusopt-tune
// have in common, so both accept exactly the same values and say the same
// thing about a bad one.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_TUNING_TOOLFLAGS_H
#define CLUSOPT_TUNING_TOOLFLAGS_H

#include "clusopt/Conversion/ClusToVector.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace clusopt {

/// Parses a --tile value, "rows=R,cols=C" with either entry optional, over
/// `defaults`, and checks the result for `vectorWidth` f32 lanes. Each
/// entry is a known key given once with an integer value; an error names
/// the flag, the entry and the allowed keys or range.
llvm::Expected<TileConfig> parseTileFlag(llvm::StringRef text,
                                         int64_t vectorWidth,
                                         TileConfig defaults = {});

} // namespace clusopt

#endif // CLUSOPT_TUNING_TOOLFLAGS_H
