# ruff: noqa: RUF001 - the report uses typographic dashes and multiplication signs
"""Statistics, target checks, the Markdown table and the PNG chart of a results dict."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

PEERS = ("s5cmd", "rclone", "aws")
METRICS = ("wall", "cpu", "rss_mib")
#: The issue's targets: spacesync / peer, median over rounds, must be at most this.
WALL_TARGETS = {"s5cmd": 1.0, "rclone": 0.8, "aws": 0.8}
WALL_MOONSHOT = {"s5cmd": 0.8}
CPU_TARGETS = {"s5cmd": 1.2}
RSS_LIMIT_MIB = 200
BIG_WORKLOADS = ("upload-1file", "download-1file")


def _stats(values: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


def summarize(entry: dict[str, Any]) -> None:
    """Adds ``summary`` (per tool) and ``ratios`` (spacesync / peer) to a workload entry."""
    summary: dict[str, Any] = {}
    counted: dict[str, dict[int, dict[str, Any]]] = {}
    for tool, runs in entry["runs"].items():
        good = [r for r in runs if not r["warmup"] and r["ok"]]
        failed = [r for r in runs if not r["ok"]]
        counted[tool] = {r["round"]: r for r in good}
        summary[tool] = {"rounds": len(good), "failed_runs": len(failed)}
        if good:
            for metric in METRICS:
                summary[tool][metric] = _stats([r[metric] for r in good])
    entry["summary"] = summary
    ratios: dict[str, Any] = {}
    ours = counted.get("spacesync", {})
    for peer in PEERS:
        theirs = counted.get(peer, {})
        rounds = sorted(set(ours) & set(theirs))
        if not rounds:
            continue
        ratios[peer] = {}
        for metric in METRICS:
            per_round = [
                ours[r][metric] / theirs[r][metric] for r in rounds if theirs[r][metric] > 0
            ]
            if per_round:
                ratios[peer][metric] = {
                    "per_round": [round(x, 3) for x in per_round],
                    **{k: round(v, 3) for k, v in _stats(per_round).items()},
                }
    entry["ratios"] = ratios


def evaluate(results: dict[str, Any]) -> None:
    """Adds ``targets``: one line per target and workload, met or missed."""
    checks: list[dict[str, Any]] = []
    for entry in results["workloads"]:
        name = entry["name"]
        if "spacesync" in entry.get("unavailable", {}):
            checks.append({"workload": name, "target": "all", "status": "n/a",
                           "why": entry["unavailable"]["spacesync"]})
            continue
        ratios = entry.get("ratios", {})
        for peer, limit in WALL_TARGETS.items():
            value = ratios.get(peer, {}).get("wall", {}).get("median")
            if value is None:
                continue
            check = {"workload": name, "target": f"wall ≤ {limit}× {peer}", "value": value,
                     "status": "met" if value <= limit else "missed"}
            if peer in WALL_MOONSHOT:
                check["moonshot"] = value <= WALL_MOONSHOT[peer]
            checks.append(check)
        for peer, limit in CPU_TARGETS.items():
            value = ratios.get(peer, {}).get("cpu", {}).get("median")
            if value is not None:
                checks.append({"workload": name, "target": f"CPU ≤ {limit}× {peer}",
                               "value": value, "status": "met" if value <= limit else "missed"})
        if name in BIG_WORKLOADS:
            ours = entry.get("summary", {}).get("spacesync", {}).get("rss_mib")
            if ours:
                value = ours["max"]
                checks.append({"workload": name, "target": f"peak RSS ≤ {RSS_LIMIT_MIB} MiB",
                               "value": value,
                               "status": "met" if value <= RSS_LIMIT_MIB else "missed"})
    results["targets"] = checks


# -- Markdown ------------------------------------------------------------------------------


def _fmt_ratio(ratios: dict[str, Any], peer: str, metric: str) -> str:
    r = ratios.get(peer, {}).get(metric)
    if not r:
        return "–"
    return f"**{r['median']:.2f}** ({r['min']:.2f}–{r['max']:.2f})"


def _fmt_stat(summary: dict[str, Any], metric: str, digits: int = 2) -> str:
    s = summary.get(metric)
    if not s:
        return "–"
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def _volume(entry: dict[str, Any]) -> str:
    files, size = entry.get("files", 0), entry.get("bytes", 0)
    text = f"{files:,} file{'s' if files != 1 else ''}"
    if size >= 2**30:
        text += f", {size / 2**30:.1f} GiB"
    elif size:
        text += f", {size / 2**20:.1f} MiB"
    if entry.get("changed"):
        text += f", {entry['changed']} changed"
    return text


def markdown(results: dict[str, Any], *, chart: str | None = None) -> str:
    m = results["machine"]
    lines = [
        f"### Benchmarks ({results['mode']} run, {results['date'][:10]})",
        "",
        f"Machine: `{m['host']}`, {m['cpu'] or 'unknown CPU'}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB RAM, Linux {m['kernel']}, Python {m['python']}. "
        f"Server: {results['server']['name']} ({results['server']['version']}). "
        f"{results['rounds']['warmup']} warm-up + {results['rounds']['counted']} counted "
        "rounds, tools interleaved. All on loopback: absolute times are noise, "
        "**ratios are the figure**.",
        "",
        "spacesync ÷ peer, median over rounds (min–max); below 1.00 means spacesync is "
        "faster / leaner:",
        "",
        "| workload | volume | wall ÷ s5cmd | wall ÷ rclone | wall ÷ aws | CPU ÷ s5cmd "
        "| CPU ÷ rclone | CPU ÷ aws | spacesync peak RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results["workloads"]:
        unavailable = entry.get("unavailable", {})
        if "spacesync" in unavailable:
            lines.append(
                f"| {entry['title']} | {_volume(entry)} | spacesync: not yet available "
                "| | | | | | |"
            )
            continue
        r = entry.get("ratios", {})
        ours = entry.get("summary", {}).get("spacesync", {})
        cells = [_fmt_ratio(r, p, "wall") for p in PEERS]
        cells += [_fmt_ratio(r, p, "cpu") for p in PEERS]
        cells.append(_fmt_stat(ours, "rss_mib", 0))
        lines.append(f"| {entry['title']} | {_volume(entry)} | " + " | ".join(cells) + " |")
    if chart:
        lines += ["", f"![spacesync ÷ peer, wall time and CPU]({chart})"]
    lines += [
        "",
        "Absolute numbers, median (min–max) over the counted rounds:",
        "",
        "| workload | tool | wall s | CPU s (user+sys) | peak RSS MiB | runs ok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results["workloads"]:
        for tool, reason in entry.get("unavailable", {}).items():
            lines.append(f"| {entry['title']} | {tool} | not available: {reason} | | | |")
        for tool, s in entry.get("summary", {}).items():
            failed = f", {s['failed_runs']} failed" if s["failed_runs"] else ""
            lines.append(
                f"| {entry['title']} | {tool} | {_fmt_stat(s, 'wall')} | {_fmt_stat(s, 'cpu')} "
                f"| {_fmt_stat(s, 'rss_mib', 0)} | {s['rounds']}{failed} |"
            )
    if results.get("rss_scaling"):
        lines += ["", "spacesync peak RSS by file size (defaults, one run each):", "",
                  "| file | upload RSS MiB | download RSS MiB |", "| --- | --- | --- |"]
        for row in results["rss_scaling"]:
            lines.append(
                f"| {row['size_mib']} MiB | {row['upload_rss_mib']:.0f} "
                f"| {row['download_rss_mib']:.0f} |"
            )
    checks = results.get("targets", [])
    if checks:
        met = sum(c["status"] == "met" for c in checks)
        missed = [c for c in checks if c["status"] == "missed"]
        na = [c for c in checks if c["status"] == "n/a"]
        lines += ["", f"Targets: {met} met, {len(missed)} missed, {len(na)} not measurable."]
        for c in missed:
            lines.append(f"- missed: {c['workload']}: {c['target']} (is {c['value']:.2f})")
        for c in na:
            lines.append(f"- not measured: {c['workload']}: {c['why']}")
    lines += ["", "Tool configuration (same endpoint, path style, credentials from env):", ""]
    for name, tool in results["tools"].items():
        lines.append(f"- **{name}** {tool['version']}: `{tool['config']['flags']}`")
    lines.append("")
    return "\n".join(lines)


# -- chart ---------------------------------------------------------------------------------


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = [e for e in results["workloads"] if e.get("ratios")]
    fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    colors = {"s5cmd": "#4c72b0", "rclone": "#dd8452", "aws": "#55a868"}
    width = 0.26
    for ax, metric, title in (
        (axes[0], "wall", "wall time"),
        (axes[1], "cpu", "client CPU seconds"),
    ):
        for i, peer in enumerate(PEERS):
            xs, ys, lo, hi = [], [], [], []
            for x, entry in enumerate(entries):
                r = entry["ratios"].get(peer, {}).get(metric)
                if r:
                    xs.append(x + (i - 1) * width)
                    ys.append(r["median"])
                    lo.append(r["median"] - r["min"])
                    hi.append(r["max"] - r["median"])
            ax.bar(xs, ys, width, label=f"÷ {peer}", color=colors[peer],
                   yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8})
            for x, y in zip(xs, ys, strict=True):
                ax.text(x, y, f"{y:.2f}", ha="center", va="bottom", fontsize=7)
        ax.axhline(1.0, color="black", linewidth=0.8)
        if metric == "wall":
            ax.axhline(0.8, color="grey", linewidth=0.8, linestyle="--")
        ax.set_ylabel(f"spacesync ÷ peer\n{title}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="upper left", ncol=3, fontsize=8)
    axes[1].set_xticks(range(len(entries)))
    axes[1].set_xticklabels([e["title"] for e in entries], rotation=20, ha="right")
    m = results["machine"]
    fig.suptitle(
        f"spacesync vs s5cmd / rclone / aws s3 — {results['mode']} run {results['date'][:10]}, "
        f"{m['host']} ({m['cores']} cores); lower is better, 1.0 = parity"
    , fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
