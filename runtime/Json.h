//===- Json.h - JSON parsing with a nesting limit ---------------*- C++ -*-===//
//
// llvm::json::parse recurses once per nesting level, so a header of a few
// megabytes of '[' overflows the stack; and each object costs about 4 KB (a
// DenseMap starts at 64 buckets), so 100 MB of `{"a":0}` would need 60 GB.
// Inputs are checked for depth and object count first.
//
//===----------------------------------------------------------------------===//

#ifndef CLUSOPT_RUNTIME_JSON_H
#define CLUSOPT_RUNTIME_JSON_H

#include "llvm/Support/JSON.h"

namespace clusopt::runtime {

/// Parses `text`, refusing nesting deeper than `maxDepth` or more than
/// `maxObjects` objects before llvm::json sees it.
inline llvm::Expected<llvm::json::Value>
parseJson(llvm::StringRef text, unsigned maxDepth, size_t maxObjects) {
  unsigned depth = 0;
  size_t objects = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i; // skip the escaped character
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '{' || c == '[') {
      if (c == '{' && ++objects > maxObjects)
        return llvm::createStringError("JSON has more than " +
                                       llvm::Twine(maxObjects) + " objects");
      if (++depth > maxDepth)
        return llvm::createStringError(
            "JSON nests deeper than " + llvm::Twine(maxDepth) +
            " levels (at byte " + llvm::Twine(i) + ")");
    } else if ((c == '}' || c == ']') && depth) {
      --depth;
    }
  }
  return llvm::json::parse(text);
}

} // namespace clusopt::runtime

#endif // CLUSOPT_RUNTIME_JSON_H
