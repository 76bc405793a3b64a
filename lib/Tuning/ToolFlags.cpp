//===- ToolFlags.cpp - flag checks shared by clusopt's tools --------------===//

#include "clusopt/Tuning/ToolFlags.h"

using namespace llvm;

Expected<clusopt::TileConfig> clusopt::parseTileFlag(StringRef text,
                                                     int64_t vectorWidth,
                                                     TileConfig defaults) {
  TileConfig tile = defaults;
  auto error = [&](const Twine &what) {
    return createStringError("--tile=" + text + ": " + what);
  };
  SmallVector<StringRef> entries;
  text.split(entries, ',');
  bool seenRows = false, seenCols = false;
  for (StringRef entry : entries) {
    auto [key, value] = entry.split('=');
    key = key.trim();
    value = value.trim();
    if (entry.trim().empty())
      return error("empty entry; expected rows=R,cols=C");
    if (!entry.contains('='))
      return error("'" + entry + "' is not key=value; expected rows=R,cols=C");
    if (key != "rows" && key != "cols")
      return error("unknown key '" + key + "'; the keys are rows and cols");
    bool &seen = key == "rows" ? seenRows : seenCols;
    if (seen)
      return error(key + " is given twice");
    seen = true;
    int64_t &field = key == "rows" ? tile.rows : tile.cols;
    if (value.getAsInteger(10, field))
      return error(key + " must be an integer, got '" + value + "'");
  }
  // rows left out may stay each op's own (kOpDefaultRows); given, they
  // must be legal.
  if (std::optional<std::string> problem =
          seenRows ? tileProblem(tile, vectorWidth)
                   : defaultTileProblem(tile, vectorWidth))
    return error(*problem);
  return tile;
}
