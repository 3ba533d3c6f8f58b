#!/usr/bin/env python3
"""Benchmark and comparison: garage-migrate lint against squawk.

usage: bench/lint.py GARAGE_MIGRATE_BINARY [RUNS]

1. The corpus of tests/lint (for every rule, migrations that must trigger
   it and safe rewrites that must not): which tool flags what, on the rules
   both have, and what each flags that the other cannot.
2. Speed: 1,000 migrations linted by each tool, median of RUNS runs, as a
   ratio in the same run.  With PGHOST set (make bench-lint starts a
   throwaway server), also garage-migrate with a database: one catalog read
   for the sizes.

squawk is `npm install -g squawk-cli` (optional: without it, only
garage-migrate's column and speed are printed); it reads SQL only, so the YAML
files of the corpus are garage-migrate's alone.  Each SQL file goes to
squawk with --assume-in-transaction, as garage-migrate runs it, unless the
file says -- garage:no-transaction.  Not a test: it prints tables.
"""
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HAVE_SQUAWK = shutil.which("squawk") is not None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# garage-migrate rule -> squawk rules that flag the same hazard.
SHARED = {
    "alter_column_type": ["changing-column-type"],
    "add_column_volatile_default": ["adding-field-with-default", "adding-serial-primary-key-field"],
    "set_not_null": ["adding-not-nullable-field"],
    "constraint_without_not_valid": ["constraint-missing-not-valid", "adding-foreign-key-constraint"],
    "add_constraint_builds_index": ["disallowed-unique-constraint", "adding-serial-primary-key-field"],
    "create_index_not_concurrently": ["require-concurrent-index-creation"],
    "blocking_maintenance": ["require-concurrent-reindex"],
    "lock_without_timeout": ["require-lock-timeout"],
    "drop_table": ["ban-drop-table"],
    "drop_column": ["ban-drop-column"],
    "truncate": ["ban-truncate-cascade"],
    "rename_table": ["renaming-table"],
    "rename_column": ["renaming-column"],
    "concurrently_in_transaction": ["ban-concurrent-index-creation-in-transaction"],
}


def notx(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return any(l.strip().replace(" ", "") == "--garage:no-transaction" for l in f)


def garage(binary, path):
    r = subprocess.run([binary, "lint", "--offline", "--format", "json", path],
                       capture_output=True, text=True)
    return {f["rule"] for f in json.loads(r.stdout)["findings"] if f["ignored"] is None}


def squawk(path):
    if not HAVE_SQUAWK:
        return None
    args = ["squawk", "--reporter", "json"]
    if not notx(path):
        args.append("--assume-in-transaction")
    r = subprocess.run(args + [path], capture_output=True, text=True)
    try:
        return {f["rule_name"] for f in json.loads(r.stdout or "[]")}
    except json.JSONDecodeError:
        return {"(squawk could not read it: " + (r.stderr or r.stdout).strip().splitlines()[0] + ")"}


def corpus(binary):
    rows, extra_g, extra_s = [], {}, {}
    tally = {"garage": [0, 0, 0], "squawk": [0, 0, 0]}   # found, missed, false alarms (shared rules)
    for d in sorted(glob.glob(os.path.join(ROOT, "tests/lint/*/"))):
        rule = os.path.basename(d.rstrip("/"))
        for path in sorted(glob.glob(d + "*.sql")) + sorted(glob.glob(d + "*.yaml")):
            name = os.path.basename(path)
            bad = name.startswith("bad")
            g = garage(binary, path)
            s = squawk(path) if path.endswith(".sql") else None
            eq = SHARED.get(rule, [])
            g_hit = rule in g
            s_hit = s is not None and any(x in s for x in eq)
            if eq and s is not None:
                for tool, hit in (("garage", g_hit), ("squawk", s_hit)):
                    if bad:
                        tally[tool][0 if hit else 1] += 1
                    elif hit:
                        tally[tool][2] += 1
            for x in g - {rule}:
                extra_g[x] = extra_g.get(x, 0) + 1
            for x in (s or set()) - set(eq):
                extra_s[x] = extra_s.get(x, 0) + 1
            rows.append((rule, name, bad, g_hit, s, s_hit, eq))
    return rows, tally, extra_g, extra_s


def path_is_sql(name):
    return name.endswith(".sql")


def mark(bad, hit):
    if bad:
        return "flags" if hit else "**misses**"
    return "**flags**" if hit else "quiet"


def print_corpus(rows, tally, extra_g, extra_s):
    print("## Corpus: tests/lint, each file alone\n")
    print("| rule | file | garage-migrate | squawk (its rule) |")
    print("| --- | --- | --- | --- |")
    for rule, name, bad, g_hit, s, s_hit, eq in rows:
        if s is None:
            sq = "- (YAML)" if HAVE_SQUAWK or not path_is_sql(name) else "- (not installed)"
        elif not eq:
            sq = "- (no such rule)"
        else:
            sq = mark(bad, s_hit) + " (" + "/".join(eq) + ")"
        print(f"| {rule} | {name} | {mark(bad, g_hit)} | {sq} |")
    print("\nOn the rules both have (bad files: found / missed; good files: false alarms):\n")
    print("| tool | found | missed | false alarms |")
    print("| --- | ---: | ---: | ---: |")
    for tool in ("garage", "squawk") if HAVE_SQUAWK else ("garage",):
        f, m, fa = tally[tool]
        print(f"| {'garage-migrate' if tool == 'garage' else 'squawk'} | {f} | {m} | {fa} |")
    print("\nOther findings on the corpus (rule: files), beyond each file's own rule:\n")
    print("- garage-migrate: " + (", ".join(f"{k}: {v}" for k, v in sorted(extra_g.items())) or "none"))
    print("- squawk: " + (", ".join(f"{k}: {v}" for k, v in sorted(extra_s.items())) or "none"))


def make_folder(n):
    """n migrations cycling through the corpus's SQL and the project's."""
    src = sorted(glob.glob(os.path.join(ROOT, "tests/lint/*/*.sql")))
    src += sorted(glob.glob(os.path.join(ROOT, "migrations/*.sql")))
    d = tempfile.mkdtemp(prefix="gm-lint-bench-")
    for k in range(n):
        shutil.copy(src[k % len(src)], os.path.join(d, "%04d_m.sql" % (k + 1)))
    return d, len(src)


def timed(args, runs, env=None):
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        t.append(time.perf_counter() - t0)
    return statistics.median(t)


def speed(binary, runs):
    d, nsrc = make_folder(1000)
    files = sorted(glob.glob(os.path.join(d, "*.sql")))
    out = subprocess.run([binary, "-m", d, "lint", "--offline", "--format", "json"],
                         capture_output=True, text=True).stdout
    stmts = json.loads(out)["summary"]["statements"]
    g = timed([binary, "-m", d, "lint", "--offline"], runs)
    s = timed(["squawk", "--assume-in-transaction"] + files, runs) if HAVE_SQUAWK else None
    rows = [("garage-migrate lint --offline (1,000 migrations as one run)", g)]
    if os.environ.get("PGHOST"):
        db = "gm_lint_bench"
        subprocess.run(["dropdb", "--if-exists", db], capture_output=True)
        subprocess.run(["createdb", db], check=True)
        rows.append(("garage-migrate lint with a database (pending: all; one pg_class read)",
                     timed([binary, "-d", "dbname=" + db, "-m", d, "lint"], runs)))
    if s is not None:
        rows.append(("squawk --assume-in-transaction (the same 1,000 files)", s))
    print(f"\n## Speed: 1,000 migrations ({stmts} statements), median of {runs} runs\n")
    print("| command | median | ratio to squawk |")
    print("| --- | ---: | ---: |")
    for name, t in rows:
        ratio = f"{t / s:.2f}x" if s else "- (squawk not installed)"
        print(f"| {name} | {t * 1000:.0f} ms | {ratio} |")
    shutil.rmtree(d)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    if HAVE_SQUAWK:
        v = subprocess.run(["squawk", "--version"], capture_output=True, text=True).stdout.strip()
    else:
        v = "no squawk (npm install -g squawk-cli to compare)"
    print(f"# garage-migrate lint and {v}\n")
    print_corpus(*corpus(binary))
    speed(binary, runs)


if __name__ == "__main__":
    main()
