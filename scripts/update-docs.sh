#!/bin/sh
# Regenerates the clus dialect doc in BUILD_DIR (the add_mlir_doc target
# ClusDialectDocGen) and copies it to docs/dialect/ClusDialect.md, the copy
# kept in the repository. test/Dialect/Clus/doc-examples.test fails while the
# two differ.
#
# Usage: scripts/update-docs.sh BUILD_DIR
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)

cmake --build "$build" --target ClusDialectDocGen
mkdir -p "$root/docs/dialect"
cp "$build/docs/Dialect/ClusDialect.md" "$root/docs/dialect/ClusDialect.md"
echo "updated docs/dialect/ClusDialect.md"
