#!/usr/bin/env python3
"""The test runner of `make check`: unit test binaries, then the HTTP suite
against the real binary, then both again built with ASan+UBSan. Ends with
one summary line: "N passed, M failed"."""
import argparse
import glob
import importlib.util
import os
import re
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "http"))

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=86",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "suppressions=" + os.path.join(HERE, "lsan.supp"),
}


def run_unit(paths, env, label):
    passed = failed = 0
    for path in paths:
        t0 = time.time()
        p = subprocess.run([path], capture_output=True, text=True, env=env)
        m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
        name = os.path.basename(path)
        if p.returncode == 0 and m and int(m.group(2)) == 0:
            passed += 1
            print(f"ok   {label} {name} ({m.group(1)} checks, {time.time() - t0:.1f}s)")
        else:
            failed += 1
            print(f"FAIL {label} {name} (exit {p.returncode})")
            sys.stdout.write(p.stdout[-4000:] + p.stderr[-4000:])
    return passed, failed


def run_http(binary, env, label, only):
    import harness
    harness.BINARY = os.path.abspath(binary)
    harness.ENV = env
    passed = failed = 0
    for path in sorted(glob.glob(os.path.join(HERE, "http", "test_*.py"))):
        mod_name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(mod_name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        tests = [(n, f) for n, f in vars(mod).items() if n.startswith("test_") and callable(f)]
        tests.sort(key=lambda t: t[1].__code__.co_firstlineno)
        for name, fn in tests:
            if only and only not in f"{mod_name}.{name}":
                continue
            t0 = time.time()
            try:
                fn()
                passed += 1
                print(f"ok   {label} {mod_name}.{name} ({time.time() - t0:.1f}s)")
            except Exception:
                failed += 1
                print(f"FAIL {label} {mod_name}.{name}")
                traceback.print_exc(file=sys.stdout)
            finally:
                errs = harness.stop_all()
                if errs:
                    failed += 1
                    print(f"FAIL {label} {mod_name}.{name}: server errors\n{errs}")
    return passed, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--unit", help="folder of unit test binaries")
    ap.add_argument("--binary", help="the arbiter binary for HTTP tests")
    ap.add_argument("--asan-binary", help="the same built with ASan+UBSan")
    ap.add_argument("--only", help="run HTTP tests whose name contains this")
    ap.add_argument("--browser", action="store_true",
                    help="also run tests/browser/run.mjs (chromium and firefox via playwright-core)")
    a = ap.parse_args()
    total_p = total_f = 0
    env = dict(os.environ)
    san = dict(env, **SAN_ENV)
    if a.unit:
        units = sorted(p for p in glob.glob(os.path.join(a.unit, "test_*")))
        asan_units = sorted(glob.glob(os.path.join(a.unit, "asan_test_*")))
        p, f = run_unit(units, env, "unit")
        total_p += p; total_f += f
    if a.binary:
        p, f = run_http(a.binary, env, "http", a.only)
        total_p += p; total_f += f
    if a.browser and a.binary:
        p = subprocess.run(["node", os.path.join(HERE, "browser", "run.mjs"), "--binary",
                            os.path.abspath(a.binary), "--browsers", "chromium,firefox"],
                           capture_output=True, text=True, cwd=os.path.dirname(HERE), timeout=900)
        sys.stdout.write(p.stdout + p.stderr[-4000:])
        m = re.search(r"(\d+) passed, (\d+) failed", p.stdout)
        if m and p.returncode == 0:
            total_p += int(m.group(1))
        else:
            total_f += max(1, int(m.group(2)) if m else 1)
    if a.unit and a.asan_binary:
        p, f = run_unit(asan_units, san, "asan-unit")
        total_p += p; total_f += f
    if a.asan_binary:
        p, f = run_http(a.asan_binary, san, "asan-http", a.only)
        total_p += p; total_f += f
    print(f"{total_p} passed, {total_f} failed")
    sys.exit(0 if total_f == 0 else 1)


if __name__ == "__main__":
    main()
