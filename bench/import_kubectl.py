"""Import of a 10,000-pod kubectl List (issue 12: target <= 5 s on 2 cores), with its breakdown.

    python bench/import_kubectl.py [--pods 10000] [--repeat 3] [--keep DIR]

The List is made by tests/fixtures/kubectl/make_fixtures.py's `build_list` (Running pods with
managedFields, status and owner references as the API server writes them; a Service and an
EndpointSlice per Deployment of 10; a NetworkPolicy per namespace), written as kubectl writes
JSON, then imported as `fastpath import` does: parse (the spec files' door: checks and
``json.loads``), map (objects -> spec), from_spec (the built cluster: validation, allocation),
write (the spec as JSON). The baseline, measured in the same run, is a bare ``json.load`` of the
same file: the least any importer has to do. Best of ``--repeat`` for each stage.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastpath.importer.kubectl import build_spec, check_spec, read_inputs, write_spec  # noqa: E402
from fastpath.importer.overlay import load_overlay  # noqa: E402


def _fixtures():
    path = ROOT / "tests" / "fixtures" / "kubectl" / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="Write the List, overlay and spec here (else a temporary directory).")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(args.keep or tmp)
        d.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        doc, overlay_text = _fixtures().build_list(args.pods)
        src, ov, out = d / "kubectl.json", d / "overlay.yaml", d / "spec.json"
        src.write_text(json.dumps(doc, indent=4) + "\n")
        ov.write_text(overlay_text)
        made = time.perf_counter() - t
        size = src.stat().st_size
        print(f"{args.pods:,} pods: kubectl List of {size / 1e6:.1f} MB ({len(doc['items']):,} objects), "
              f"made in {made:.1f} s")

        def baseline():
            with open(src) as f:
                return json.load(f)

        t_base, _ = best(baseline, args.repeat)
        overlay = load_overlay(ov)
        t_parse, inputs = best(lambda: read_inputs([src]), args.repeat)
        t_map, imported = best(lambda: build_spec(inputs, overlay, str(ov)), args.repeat)
        t_check, cluster = best(lambda: check_spec(imported.spec, str(ov)), args.repeat)
        t_write, _ = best(lambda: write_spec(imported.spec, out), args.repeat)
        total = t_parse + t_map + t_check + t_write
        print(imported.summary())
        for line in imported.skipped_lines():
            print(line)
        print(f"{'stage':<10}{'s':>8}{'x json.load':>13}")
        for name, s in (("parse", t_parse), ("map", t_map), ("from_spec", t_check), ("write", t_write),
                        ("total", total), ("json.load", t_base)):
            print(f"{name:<10}{s:>8.3f}{s / t_base:>13.2f}")
        print(f"import: {args.pods / total:,.0f} pods/s; {size / total / 1e6:.1f} MB/s; target <= 5 s: "
              f"{'met' if total <= 5 else 'MISSED'} ({total:.2f} s)")


if __name__ == "__main__":
    main()
