#!/usr/bin/env python3
"""Lint the lit test files of the clusopt suite.

Usage: check-lit-files.py DIR...

Scans every `.mlir` and `.test` file under the given directories (skipping
`Inputs/` folders, which hold files that other tests read) and reports:

  * a RUN directive without its colon (`// RUN clusopt-opt ...`,
    `# RUN :`): lit silently ignores it, so the test runs less than it
    appears to, or lit reports it as having no RUN line at all;
  * a CHECK directive without its colon (`// CHECK-NEXT foo`): FileCheck
    silently ignores it;
  * a file with a `RUN:` line but no check line: no `CHECK`-style directive
    (including prefixes chosen with --check-prefix[es]=) and no
    `expected-error`/`-warning`/`-note`/`-remark`. Such a test only checks
    that its commands exit 0.

Prints one `path:line: message` per problem and the list of offending files
on stderr, then `checked N test files, K problems` on stdout; exits 1 when
K > 0, 2 on bad usage.
"""

import os
import re
import sys

SUFFIXES = (".mlir", ".test")
SKIP_DIRS = {"Inputs", "__pycache__", ".git"}

# A comment marker, optional blanks, then RUN not followed by its colon. `RUN`
# must be a whole word so that prose like `// RUNTIME` is not flagged.
RUN_NO_COLON = re.compile(r"(//|#|;)\s*RUN(?![\w:])")
RUN_LINE = re.compile(r"\bRUN:")
CHECK_SUFFIXES = r"(-(NEXT|SAME|NOT|DAG|LABEL|EMPTY|COUNT-\d+))?"
CHECK_NO_COLON = re.compile(r"(//|#|;)\s*CHECK" + CHECK_SUFFIXES + r"(?![\w:-])")
EXPECTED = re.compile(r"\bexpected-(error|warning|note|remark)\b")
PREFIX_OPTION = re.compile(r"--?check-prefix(?:es)?[= ]([\w,-]+)")


def check_file(path):
    """Returns a list of (line number, message) problems for one file."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        return [(0, f"cannot read: {e}")]

    problems = []
    has_run = False
    prefixes = {"CHECK"}
    for number, line in enumerate(lines, 1):
        if RUN_NO_COLON.search(line):
            problems.append((number, "RUN directive without ':' is ignored by lit"))
        if CHECK_NO_COLON.search(line):
            problems.append(
                (number, "CHECK directive without ':' is ignored by FileCheck"))
        if RUN_LINE.search(line):
            has_run = True
            for option in PREFIX_OPTION.findall(line):
                prefixes.update(p for p in option.split(",") if p)

    if has_run:
        directive = re.compile(
            r"\b(" + "|".join(map(re.escape, sorted(prefixes))) + r")"
            + CHECK_SUFFIXES + r":")
        if not any(directive.search(l) or EXPECTED.search(l) for l in lines):
            problems.append(
                (0, "has a RUN: line but no CHECK or expected-* line"))
    return problems


def test_files(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(SUFFIXES):
                yield os.path.join(dirpath, name)


def main(argv):
    if len(argv) < 2 or any(a in ("-h", "--help") for a in argv[1:]):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    count = 0
    problems = 0
    bad_files = []
    for root in argv[1:]:
        if not os.path.isdir(root):
            print(f"{root}: not a directory", file=sys.stderr)
            return 2
        for path in test_files(root):
            count += 1
            found = check_file(path)
            if found:
                bad_files.append(path)
            for number, message in found:
                where = f"{path}:{number}" if number else path
                print(f"{where}: {message}", file=sys.stderr)
            problems += len(found)
    if bad_files:
        print("offending files:", file=sys.stderr)
        for path in bad_files:
            print(f"  {path}", file=sys.stderr)
    print(f"checked {count} test files, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
