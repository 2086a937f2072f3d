"""scan_baseline.py DIR KNOWN: reads the clang static analyzer's plist
reports under DIR (scan-build -plist), and fails when a finding is not in
KNOWN (file, checker and message, one a line, with a count: line numbers
move, findings should not). Prints every finding; --update rewrites KNOWN
from this run."""
import collections
import glob
import os
import plistlib
import sys


def findings(d):
    out = collections.Counter()
    for path in glob.glob(os.path.join(d, "**", "*.plist"), recursive=True):
        with open(path, "rb") as f:
            p = plistlib.load(f)
        files = p.get("files", [])
        for diag in p.get("diagnostics", []):
            loc = diag.get("location", {})
            name = os.path.relpath(files[loc.get("file", 0)]) if files else "?"
            out[(name, diag.get("check_name", "?"), diag.get("description", "?"))] += 1
    return out


def main():
    d, known_path = sys.argv[1], sys.argv[2]
    got = findings(d)
    known = collections.Counter()
    if os.path.exists(known_path):
        for line in open(known_path):
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            n, f, c, m = line.split("\t", 3)
            known[(f, c, m)] = int(n)
    if "--update" in sys.argv:
        with open(known_path, "w") as f:
            f.write("# scan-build findings judged false positives (count, file, checker, message);\n"
                    "# make lint fails on any other. Each was read (say why here).\n")
            for (fi, c, m), n in sorted(got.items()):
                f.write(f"{n}\t{fi}\t{c}\t{m}\n")
        print(f"scan-build: {sum(got.values())} findings written to {known_path}")
        return 0
    new = got - known
    for (f, c, m), n in sorted(got.items()):
        mark = "NEW " if (f, c, m) in new else "known"
        print(f"scan-build {mark} {n} x {f}: {m} [{c}]")
    if new:
        print(f"scan-build: {sum(new.values())} new findings")
        return 1
    print(f"scan-build: {sum(got.values())} findings, none new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
