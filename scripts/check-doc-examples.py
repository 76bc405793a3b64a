#!/usr/bin/env python3
"""Check that every ```mlir example in a dialect doc parses and verifies.

Usage: check-doc-examples.py --opt PATH [--committed COPY.md] DOC.md [OPT_ARG...]

Extracts every fenced ```mlir block from DOC.md (the mlir-tblgen output of
add_mlir_doc), runs `PATH` on each one (parse, verify, print) and prints
`N examples ok`. A block that fails is named by its number, its line in
DOC.md and the op section it sits in, followed by the tool's diagnostics.

Options this script does not know (e.g. --verify-roundtrip, which lit's
`clusopt-opt` substitution carries with --param roundtrip=1) are passed on
to the tool.

With --committed, also checks that COPY.md, the copy of the doc kept in the
repository, is identical to DOC.md; refresh it with
`scripts/update-docs.sh BUILD_DIR`.

Exits 0 when everything passes, 1 otherwise.
"""

import argparse
import difflib
import re
import subprocess
import sys

def eprint(*args):
    """Diagnostics go to stderr so that lit shows them even when stdout is
    piped into FileCheck."""
    print(*args, file=sys.stderr)


FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
HEADING = re.compile(r"^#+\s+(.*?)\s*$")


def mlir_blocks(text):
    """Yields (first line number, section heading, block text)."""
    lines = text.splitlines()
    section = "(top)"
    i = 0
    while i < len(lines):
        heading = HEADING.match(lines[i])
        if heading:
            section = heading.group(1)
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        start = i + 1
        end = start
        while end < len(lines) and not FENCE.match(lines[end]):
            end += 1
        if fence.group(2) == "mlir":
            yield start + 1, section, "\n".join(lines[start:end]) + "\n"
        i = end + 1


def check_committed(doc, generated, committed):
    try:
        with open(committed, encoding="utf-8") as f:
            kept = f.read()
    except OSError as e:
        eprint(f"error: cannot read the committed doc: {e}")
        kept = None
    if kept == generated:
        return True
    if kept is not None:
        diff = difflib.unified_diff(kept.splitlines(), generated.splitlines(),
                                    committed, doc, lineterm="", n=1)
        for line in list(diff)[:40]:
            eprint(line)
    eprint(f"error: {committed} differs from the generated {doc}; refresh it "
          f"with `scripts/update-docs.sh BUILD_DIR` and commit the result")
    return False


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.strip().splitlines()[0])
    parser.add_argument("--opt", required=True,
                        help="the clusopt-opt binary to run on each example")
    parser.add_argument("--committed", metavar="COPY.md",
                        help="the repository's copy of DOC.md, which must "
                             "match it")
    parser.add_argument("doc", metavar="DOC.md")
    args, opt_args = parser.parse_known_args(argv[1:])
    try:
        with open(args.doc, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        eprint(f"error: cannot read {args.doc}: {e}")
        return 1

    ok = True
    blocks = list(mlir_blocks(text))
    if not blocks:
        eprint(f"error: no ```mlir examples found in {args.doc}")
        ok = False
    failed = 0
    for number, (line, section, block) in enumerate(blocks, 1):
        result = subprocess.run([args.opt, *opt_args, "-"], input=block,
                                capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failed += 1
            eprint(f"error: example {number} at {args.doc}:{line} "
                  f"(in '{section}') does not parse and verify:")
            eprint(block.rstrip("\n"))
            eprint(result.stderr.rstrip("\n"))
    if failed:
        eprint(f"{failed} of {len(blocks)} examples failed")
        ok = False
    elif blocks:
        print(f"{len(blocks)} examples ok")

    if args.committed and not check_committed(args.doc, text, args.committed):
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
