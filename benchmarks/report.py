"""Turn ``benchmarks/results/*.json`` into the chart and the tables of docs/performance.md.

Reads the JSON the benchmark scripts wrote, draws ``benchmarks/results/performance.png``
(copied to ``docs/img/performance.png``), prints the markdown tables and rewrites the
generated parts of ``docs/performance.md`` (between ``<!-- targets:start -->`` /
``<!-- tables:start -->`` and their ``:end`` markers).

Run: ``python benchmarks/report.py`` (``--quick``: read ``results/quick/``, draw there,
copy nothing).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from _common import HERE, RESULTS, parse_args

DOCS_IMG = HERE.parent / "docs" / "img" / "performance.png"
DOCS_PAGE = HERE.parent / "docs" / "performance.md"
OURS = "axios_like"


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def rng(stat: dict[str, float], digits: int = 0, scale: float = 1.0) -> str:
    return (
        f"{stat['median'] * scale:,.{digits}f} "
        f"({stat['min'] * scale:,.{digits}f}-{stat['max'] * scale:,.{digits}f})"
    )


def ratio(stat: dict[str, float], digits: int = 2) -> str:
    return f"{stat['median']:.{digits}f}x ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def tables(folder: Path) -> str:
    parts: list[str] = []
    happy = load(folder, "happy")
    if happy:
        for flavour in ("sync", "async"):
            rows = [
                [
                    name,
                    rng(r["cpu_us"]),
                    ratio(r["cpu_us_ratio"], 3),
                    rng(r["rps"]),
                    ratio(r["rps_ratio"]),
                ]
                for name, r in happy[flavour].items()
            ]
            parts.append(
                f"**Happy path, {flavour}** ({happy['rounds']} rounds)\n\n"
                + md_table(
                    [
                        "client",
                        "CPU us/request",
                        "CPU x raw httpx",
                        "requests/s",
                        "req/s x raw httpx",
                    ],
                    rows,
                )
            )
    parts += fleet_tables(folder)
    conc = load(folder, "concurrency")
    if conc:
        rows = [
            [
                name,
                rng(r["rps"]),
                ratio(r["rps_ratio"]),
                ratio(r["rps_ratio_aiohttp"]) if "rps_ratio_aiohttp" in r else "",
                rng(r["cpu_us"]),
            ]
            for name, r in conc["results"].items()
        ]
        parts.append(
            f"**{conc['tasks']} concurrent tasks** ({conc['rounds']} rounds)\n\n"
            + md_table(
                ["client", "requests/s", "x raw httpx", "x raw aiohttp", "CPU us/request"], rows
            )
        )
    retry = load(folder, "retry_path")
    if retry:
        for flavour in ("sync", "async"):
            rows = [
                [
                    name,
                    rng(r["ms_per_call"], 2),
                    f"{r['wall_ratio']['median']:.2f}x",
                    rng(r["cpu_us"]),
                    f"{r['requests_per_call']['median']:.2f}",
                    ", ".join(f"{k}: {v}" for k, v in sorted(r["statuses"].items())),
                ]
                for name, r in retry[flavour].items()
            ]
            parts.append(
                f"**Retry path, {flavour}** (503, 503, 200; zero waits; "
                f"{retry['rounds']} rounds)\n\n"
                + md_table(
                    [
                        "client",
                        "ms per call",
                        "x 3 GETs by hand",
                        "CPU us per call",
                        "requests seen per call",
                        "what the caller got",
                    ],
                    rows,
                )
            )
    peers = load(folder, "decision_peers")
    if peers:
        ours_ns = peers["results"][OURS]["median"]
        rows = [
            [name, rng(s), f"{s['median'] / ours_ns:.1f}x"] for name, s in peers["results"].items()
        ]
        parts.append(
            f"**Retry decision for a 503** ({peers['iterations']:,} x "
            f"{peers['rounds']} rounds)\n\n"
            + md_table(["library", "ns per decision", "x axios_like"], rows)
        )
    decide = load(folder, "decide")
    if decide:
        rows = [[name, rng(s)] for name, s in decide["results"].items()]
        parts.append(
            "**`bench_decide.py`: our decision alone**\n\n"
            + md_table(["case", "ns per call"], rows)
        )
    mem = load(folder, "memory")
    if mem:
        rows = []
        for flavour, r in mem["results"].items():
            cps = r["checkpoints"]
            rows.append(
                [
                    flavour,
                    *[f"{c['traced_kib']:.1f}" for c in cps],
                    f"{r['growth_kib']:+.1f}",
                    f"{cps[-1]['rss_kib'] / 1024:.1f}",
                ]
            )
        cps = next(iter(mem["results"].values()))["checkpoints"]
        parts.append(
            f"**Memory, {mem['calls']:,} calls** (traced KiB still allocated)\n\n"
            + md_table(
                ["flavour", *[f"{c['calls']:,} calls" for c in cps], "growth", "RSS MiB at end"],
                rows,
            )
        )
    layers = load(folder, "layers")
    if layers and layers.get("results"):
        rows = []
        previous = None
        for name, r in layers["results"].items():
            added = "" if previous is None else f"{r['cpu_us']['median'] - previous:+,.0f}"
            previous = r["cpu_us"]["median"]
            rows.append([name, rng(r["rps"]), ratio(r["rps_ratio"]), rng(r["cpu_us"]), added])
        parts.append(
            f"**Layers on the fast transport, {layers['tasks']} tasks** "
            f"({layers['rounds']} rounds)\n\n"
            + md_table(
                ["layer", "requests/s", "x raw aiohttp", "CPU us/request", "CPU added"], rows
            )
        )
    machine_of = next(
        (d["machine"] for n in ("happy", "concurrency", "server") if (d := load(folder, n))), None
    )
    if machine_of:
        rows = [
            ["CPUs (`nproc`)", str(machine_of["nproc"])],
            ["CPU model (`/proc/cpuinfo`)", machine_of["cpu_model"]],
            ["Python", f"{machine_of['implementation']} {machine_of['python']}"],
            ["platform", machine_of["platform"]],
            *[[name, version] for name, version in machine_of["versions"].items()],
        ]
        parts.append("**The machine**\n\n" + md_table(["", ""], rows))
    server = load(folder, "server")
    if server:
        rows = [[name, rng(s)] for name, s in server["rps"].items()]
        parts.append("**The benchmark server alone**\n\n" + md_table(["load", "requests/s"], rows))
    return "\n\n".join(parts)


def per_request(redis: dict[str, Any]) -> str:
    """Whether every script call was a sync (the first may repeat once: NOSCRIPT)."""
    if redis["script_calls"] <= redis["syncs"] + 1:
        return ": every script call was a sync, none was made for a request"
    return f": {redis['script_calls'] - redis['syncs'] - 1} script calls more than syncs"


def fleet_tables(folder: Path) -> list[str]:
    """Fleet mode's happy path (``bench_happy.py --fleet``) and what Redis was sent."""
    fleet = load(folder, "happy_fleet")
    if not fleet or not fleet.get("redis"):
        return []
    parts: list[str] = []
    row_name = fleet["fleet_row"]
    for flavour in ("sync", "async"):
        results = fleet[flavour]
        rows = [
            [
                name,
                rng(r["cpu_us"]),
                ratio(r["cpu_us_ratio"], 3),
                rng(r["rps"]),
                ratio(r["rps_ratio"]),
            ]
            for name, r in results.items()
        ]
        vs = results[row_name]["vs_local"]
        redis = fleet["redis"][flavour]
        sent = ", ".join(f"{k.upper()} {n}" for k, n in sorted(redis["commands"].items()))
        parts.append(
            f"**Fleet mode, happy path, {flavour}** ({fleet['rounds']} rounds; fleet mode "
            f"x local mode, per round: CPU {ratio(vs['cpu_us_ratio'], 3)}, requests/s "
            f"{ratio(vs['rps_ratio'])})\n\n"
            + md_table(
                ["client", "CPU us/request", "CPU x raw httpx", "requests/s", "req/s x raw httpx"],
                rows,
            )
            + f"\n\nRedis got, while these rows ran ({redis['seconds']:.1f} s, "
            f"{redis['fleet_requests']:,} fleet mode requests, `sync_interval="
            f"{redis['sync_interval']:g}`): {sent}; {redis['script_calls']} script calls for "
            f"{redis['syncs']} syncs ({redis['script_calls_per_interval']:.2f} per sync "
            f"interval){per_request(redis)}."
        )
    return parts


def targets(folder: Path) -> str:
    """The targets of issue 6, each with its measured figure and verdict."""
    rows: list[list[str]] = []

    def row(what: str, target: str, value: float | None, ok: bool | None, shown: str) -> None:
        verdict = "n/a" if ok is None else ("met" if ok else "**missed**")
        rows.append([what, target, shown if value is not None else "not measured", verdict])

    happy = load(folder, "happy")
    for flavour in ("sync", "async"):
        r = (happy or {}).get(flavour, {}).get(OURS)
        v = r["cpu_us_ratio"]["median"] if r else None
        row(
            f"happy path CPU per request, {flavour}",
            "<= 1.03x raw httpx",
            v,
            None if v is None else v <= 1.03,
            "" if r is None else ratio(r["cpu_us_ratio"], 3),
        )
    r = (happy or {}).get("sync", {}).get(f"{OURS} + urllib3_transport")
    v = r["cpu_us_ratio"]["median"] if r else None
    row(
        "happy path CPU per request, sync on urllib3_transport()",
        "<= 0.6x raw httpx",
        v,
        None if v is None else v <= 0.6,
        "" if r is None else ratio(r["cpu_us_ratio"], 3),
    )
    fleet = load(folder, "happy_fleet") or {}
    for flavour in ("sync", "async"):
        r = fleet.get(flavour, {}).get(fleet.get("fleet_row") or "", {}).get("vs_local")
        v = r["cpu_us_ratio"]["median"] if r else None
        row(
            f"fleet mode happy path CPU per request, {flavour}",
            "within noise of local mode: <= 1.03x local",
            v,
            None if v is None else v <= 1.03,
            "" if r is None else ratio(r["cpu_us_ratio"], 3),
        )
    redis = fleet.get("redis") or {}
    if redis:
        ok = all(
            c["script_calls"] <= c["script_calls_bound"]
            and set(c["commands"]) <= {"evalsha", "eval", "script|load", "hello"}
            for c in redis.values()
        )
        row(
            "fleet mode: Redis calls",
            "<= 1 script call per sync_interval, 0 per request",
            1.0,
            ok,
            ", ".join(
                f"{f}: {c['script_calls']} in {c['seconds']:.0f} s for {c['fleet_requests']:,} "
                "requests"
                for f, c in redis.items()
            ),
        )
    conc = (load(folder, "concurrency") or {}).get("results", {})
    r = conc.get(OURS)
    v = r["rps_ratio"]["median"] if r else None
    row(
        "64 tasks, throughput",
        ">= 0.97x raw httpx.AsyncClient",
        v,
        None if v is None else v >= 0.97,
        "" if r is None else ratio(r["rps_ratio"]),
    )
    fast = conc.get(f"{OURS} + aiohttp_transport")
    v = fast["rps_ratio"]["median"] if fast else None
    row(
        "64 tasks on aiohttp_transport(), retries on",
        ">= 4x raw httpx.AsyncClient",
        v,
        None if v is None else v >= 4.0,
        "" if fast is None else ratio(fast["rps_ratio"]),
    )
    a = fast.get("rps_ratio_aiohttp") if fast else None
    v = a["median"] if a else None
    row(
        "64 tasks on aiohttp_transport(), retries on",
        ">= 0.5x raw aiohttp",
        v,
        None if v is None else v >= 0.5,
        "" if a is None else ratio(a),
    )
    peers = load(folder, "decision_peers")
    r = (peers or {}).get("results", {}).get(OURS)
    v = r["median"] if r else None
    row(
        "retry decision for a 503",
        "<= 1 us",
        v,
        None if v is None else v <= 1000,
        "" if r is None else f"{rng(r)} ns",
    )
    retry = load(folder, "retry_path")
    if retry:
        seen = {f: retry[f][OURS]["requests_per_call"]["median"] for f in ("sync", "async")}
        ok = all(abs(n - 3) < 1e-9 for n in seen.values())
        row(
            "max_retries=2 on 503, 503, 200",
            "3 requests, then 200",
            3.0,
            ok,
            ", ".join(f"{f}: {n:.2f} requests/call" for f, n in seen.items()),
        )
    mem = load(folder, "memory")
    if mem:
        growth = {f: r["growth_kib"] for f, r in mem["results"].items()}
        verdicts = [r["no_growth"] for r in mem["results"].values()]
        ok = None if None in verdicts else all(verdicts)
        row(
            f"memory over {mem['calls']:,} calls",
            "no growth",
            0.0,
            ok,
            ", ".join(f"{f}: {g:+.1f} KiB" for f, g in growth.items()),
        )
    return md_table(["what", "target", "measured: median (min-max)", "verdict"], rows)


def sync_layers(folder: Path) -> str:
    """The sync stack one layer at a time (bench_profile.py), as a ratio to raw httpx."""
    prof = load(folder, "profile")
    layers = ((prof or {}).get("results", {}).get("sync-layers") or {}).get("cpu_us")
    if not layers:
        return "(not measured: run `python benchmarks/bench_profile.py`)"
    base = layers["httpx (raw)"]
    rows = [[name, f"{us:.0f}", f"{us / base:.2f}x"] for name, us in layers.items()]
    return md_table(["layer", "CPU us/request", "x raw httpx"], rows)


def update_docs(folder: Path, page: Path) -> None:
    """Rewrite the generated parts of docs/performance.md between their markers."""
    text = page.read_text()
    parts = (
        ("targets", targets(folder)),
        ("tables", tables(folder)),
        ("sync-layers", sync_layers(folder)),
    )
    for name, body in parts:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{start}\n{body}\n{end}{tail}"
    page.write_text(text)
    print(f"updated {page.relative_to(HERE.parent)}")


def chart(folder: Path, out: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib not installed: no chart (pip install -e '.[bench]')")
        return False
    happy = load(folder, "happy")
    conc = load(folder, "concurrency")
    retry = load(folder, "retry_path")
    peers = load(folder, "decision_peers")
    panels = [p for p in (happy, conc, retry, peers) if p]
    if not panels:
        return False
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    colour = lambda name: "#d9480f" if name.startswith(OURS) else "#868e96"  # noqa: E731

    def bars(
        ax: Any,
        items: list[tuple[str, dict[str, float]]],
        title: str,
        xlabel: str,
        log: bool = False,
    ) -> None:
        names = [n for n, _ in items][::-1]
        stats = [s for _, s in items][::-1]
        med = [s["median"] for s in stats]
        err = [
            [m - s["min"] for m, s in zip(med, stats, strict=True)],
            [s["max"] - m for m, s in zip(med, stats, strict=True)],
        ]
        ax.barh(names, med, xerr=err, color=[colour(n) for n in names], capsize=3)
        for y, m in enumerate(med):
            ax.text(m, y, f" {m:,.0f}" if m >= 100 else f" {m:.3g}", va="center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.tick_params(labelsize=8)
        if log:
            ax.set_xscale("log")

    if happy:
        items = [
            (f"{n} [sync]", r["cpu_us_ratio"])
            for n, r in happy["sync"].items()
            if "axios-python" not in n
        ]
        items += [(f"{n} [async]", r["cpu_us_ratio"]) for n, r in happy["async"].items()]
        bars(
            axes[0][0],
            items,
            "Happy path: client CPU per request, x raw httpx (lower is better)",
            "ratio to raw httpx of the same flavour, same round (median, min-max)",
        )
        axes[0][0].axvline(1.0, color="black", lw=0.8)
    if conc:
        items = [(n, r["rps"]) for n, r in conc["results"].items()]
        bars(
            axes[0][1],
            items,
            f"{conc['tasks']} concurrent tasks: requests/s (higher is better)",
            "requests/s (median, min-max)",
        )
    if retry:
        items = [
            (f"{n} [sync]", r["ms_per_call"])
            for n, r in retry["sync"].items()
            if "axios-python" not in n
        ]
        items += [
            (f"{n} [async]", r["ms_per_call"])
            for n, r in retry["async"].items()
            if "axios-python" not in n
        ]
        bars(
            axes[1][0],
            items,
            "Retry path (503, 503, 200; zero waits): ms per call",
            "ms per logical call (median, min-max)",
        )
    if peers:
        items = list(peers["results"].items())
        bars(
            axes[1][1],
            items,
            "Retry decision for a 503: ns (lower is better)",
            "ns per decision (median, min-max)",
        )
    machine = next(iter(panels))["machine"]
    fig.suptitle(
        f"axios_like benchmarks - {machine['nproc']} CPUs ({machine['cpu_model']}), "
        f"Python {machine['python']}, loopback server pinned to its own CPU",
        fontsize=11,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"wrote {out.relative_to(HERE.parent)}")
    return True


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    folder = RESULTS / "quick" if args.quick else RESULTS
    print(targets(folder))
    print()
    print(tables(folder))
    png = folder / "performance.png"
    if chart(folder, png) and not args.quick:
        DOCS_IMG.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, DOCS_IMG)
        print(f"copied to {DOCS_IMG.relative_to(HERE.parent)}")
    if not args.quick and DOCS_PAGE.exists():
        update_docs(folder, DOCS_PAGE)


if __name__ == "__main__":
    main()
