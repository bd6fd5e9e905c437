"""The benchmark runner: ``scripts/bench [--quick] [--workloads W,…] [--tools T,…]``.

For each workload: untimed preparation, then a warm-up round and N counted rounds; in each
round every tool runs once, interleaved (A B C D A B C D …). Each run is set up, measured
as a child process (see :mod:`benchmarks.measure`), verified and cleaned up; only the
child's own lifetime is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import report
from benchmarks.measure import Measurement, run_measured
from benchmarks.s3admin import S3Admin
from benchmarks.tools import TOOLS, Endpoint, Op, Spacesync, Tool
from benchmarks.workloads import (
    WORKLOADS,
    Context,
    MiB,
    Sizes,
    VerifyError,
    Workload,
    ensure_data,
    file_hash,
    sizes_dict,
)
from spacesync.localserver import LocalServer

ROOT = Path(__file__).resolve().parent.parent
PEERS = ("s5cmd", "rclone", "aws")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="spacesync against s5cmd, rclone and aws s3 on a local SeaweedFS.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a fast look")
    parser.add_argument(
        "--workloads", default="all", help=f"comma-separated, of: {', '.join(WORKLOADS)}"
    )
    parser.add_argument("--tools", default="all", help=f"comma-separated, of: {', '.join(TOOLS)}")
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up rounds (default 1)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight, all tools")
    parser.add_argument("--part-size", type=int, default=8, help="part size in MiB, all tools")
    parser.add_argument(
        "--scratch", type=Path,
        default=Path(os.environ.get("SPACESYNC_BENCH_SCRATCH")
                     or Path(tempfile.gettempdir()) / "spacesync-bench"),
        help="data, downloads and the server's storage (reused between runs; not in the repo)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--label", default="", help="suffix of the results file name")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per tool run")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def pick(value: str, known: dict[str, object], what: str) -> list[str]:
    if value == "all":
        return list(known)
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [k for k in known if k in chosen]  # canonical order


def machine_info() -> dict[str, object]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "host": socket.gethostname(),
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


class Runner:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sizes = Sizes.quick() if args.quick else Sizes.full()
        self.scratch: Path = args.scratch.resolve()
        self.logs = self.scratch / "logs"

    def run_tool(self, tool: Tool, op: Op, tag: str) -> tuple[Measurement, list[str]]:
        argv = tool.command(op)
        self.logs.mkdir(parents=True, exist_ok=True)
        m = run_measured(
            argv, env=tool.env(), cwd=self.scratch, log=self.logs / f"{tag}.log",
            timeout=self.args.timeout,
        )
        return m, argv

    def run_untimed(self, tool: Tool, op: Op) -> None:
        m, argv = self.run_tool(tool, op, f"prime-{tool.name}")
        if m.returncode != 0:
            raise VerifyError(f"{' '.join(argv)} failed ({m.returncode}): {m.output_tail}")

    def main(self) -> int:
        args = self.args
        workload_names = pick(args.workloads, WORKLOADS, "workloads")  # type: ignore[arg-type]
        tool_names = pick(args.tools, TOOLS, "tools")  # type: ignore[arg-type]
        self.scratch.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        server = LocalServer(self.scratch / "server")
        info = server.start()
        log(f"SeaweedFS at {info.endpoint_url} (storage under {server.root})")
        endpoint = Endpoint(info.endpoint_url, info.admin.access_key, info.admin.secret_key)
        bin_dir = Path(sys.executable).parent
        common = {
            "bin_dir": bin_dir, "endpoint": endpoint, "concurrency": args.concurrency,
            "part_mib": args.part_size,
        }
        tools = [TOOLS[n](home=self.scratch / "home" / n, **common) for n in tool_names]
        ctx = Context(scratch=self.scratch, sizes=self.sizes, admin=S3Admin(endpoint), log=log)
        ctx.seeder = Spacesync(home=self.scratch / "home" / "seeder", **common)
        workloads = [WORKLOADS[n](ctx) for n in workload_names]
        try:
            ensure_data(ctx, {w.data for w in workloads if w.data})
            results = {
                "schema": 1,
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "mode": "quick" if args.quick else "full",
                "machine": machine_info(),
                "server": {"name": "SeaweedFS (weed mini), 127.0.0.1",
                           "version": _weed_version(bin_dir)},
                "sizes": sizes_dict(self.sizes),
                "rounds": {"warmup": args.warmup, "counted": args.rounds},
                "method": {
                    "order": "interleaved per round: " + " ".join(tool_names),
                    "wall": "perf_counter around fork..wait4 of the tool's process",
                    "cpu": "ru_utime+ru_stime from wait4 (includes reaped descendants)",
                    "rss": "ru_maxrss from wait4 (largest process of the tree), MiB",
                    "ratio": "spacesync / peer per counted round, then the median",
                },
                "tools": {
                    t.name: {"version": t.version(), "config": t.config()} for t in tools
                },
                "workloads": [],
            }
            for workload in workloads:
                results["workloads"].append(self.run_workload(workload, tools))
                self.save(results, partial=True)
            if not args.quick and "spacesync" in tool_names and any(
                w.name in ("upload-1file", "download-1file") for w in workloads
            ):
                rows = self.rss_scaling(ctx, tools) + _big_rss(results)
                results["rss_scaling"] = sorted(rows, key=lambda row: row["size_mib"])
            results["elapsed_seconds"] = round(time.monotonic() - started, 1)
            report.evaluate(results)
            paths = self.save(results, partial=False)
            log(f"done in {results['elapsed_seconds']:.0f} s: " + ", ".join(map(str, paths)))
            print(report.markdown(results, chart=paths[-1].name if not args.no_chart else None))
        finally:
            server.stop()
        return 0

    def run_workload(self, workload: Workload, tools: list[Tool]) -> dict[str, object]:
        args = self.args
        log(f"== {workload.name}: {workload.describe()}")
        entry: dict[str, object] = {**workload.describe(), "runs": {}, "unavailable": {}}
        active: list[Tool] = []
        for tool in tools:
            reason = tool.unavailable(workload.kind)
            if reason:
                entry["unavailable"][tool.name] = reason  # type: ignore[index]
                log(f"   {tool.name}: not available: {reason}")
            else:
                active.append(tool)
        if not active:
            return entry
        workload.prepare(active)
        for tool in list(active):
            try:
                workload.prime(tool, self.run_untimed)
            except (VerifyError, OSError) as exc:
                entry["unavailable"][tool.name] = f"priming failed: {exc}"  # type: ignore[index]
                log(f"   {tool.name}: priming failed: {exc}")
                active.remove(tool)
        total = args.warmup + args.rounds
        for rnd in range(total):
            warm = rnd < args.warmup
            for tool in active:
                op = workload.before(tool, rnd)
                tag = f"{workload.name}-{tool.name}-r{rnd}"
                m, argv = self.run_tool(tool, op, tag)
                error = None
                if m.returncode != 0:
                    error = f"exit {m.returncode}: {m.output_tail.strip()[-600:]}"
                else:
                    try:
                        workload.verify(tool, op)
                    except VerifyError as exc:
                        error = f"verification failed: {exc}"
                workload.after(tool, op)
                run = {
                    "round": rnd, "warmup": warm, "wall": round(m.wall, 4),
                    "cpu": round(m.cpu, 4), "user": round(m.user, 4), "sys": round(m.sys, 4),
                    "rss_mib": round(m.rss_mib, 1), "ok": error is None, "argv": argv,
                }
                if error:
                    run["error"] = error
                entry["runs"].setdefault(tool.name, []).append(run)  # type: ignore[attr-defined]
                log(
                    f"   r{rnd}{'w' if warm else ' '} {tool.name:9s} {m.wall:8.2f} s  "
                    f"cpu {m.cpu:7.2f} s  rss {m.rss_mib:6.0f} MiB  "
                    f"{'ok' if error is None else 'FAILED ' + error[:200]}"
                )
        workload.finish(active)
        report.summarize(entry)
        return entry

    def rss_scaling(self, ctx: Context, tools: list[Tool]) -> list[dict[str, object]]:
        """spacesync's peak RSS for one file of growing size, up and down (one run each);
        the 1 GiB row comes from the big workloads' runs. 2 GiB shows whether RSS is flat
        once the memory budget is full, or grows with the file."""
        tool = next(t for t in tools if t.name == "spacesync")
        bucket = "b-rss-scaling"
        out = []
        for size in (64 * MiB, 256 * MiB, 2048 * MiB):
            path = ctx.data / f"big-{size}.bin"
            if not path.exists():
                from benchmarks.workloads import _write_big

                _write_big(path, size)
            ctx.admin.drop_bucket(bucket)
            ctx.admin.make_bucket(bucket)
            ctx.admin.put_many(bucket, [("zz-warm/object", b"warm")])
            up, _ = self.run_tool(tool, Op("put-file", bucket, "big.bin", path), "rss-up")
            target = self.scratch / "out" / "rss" / "big.bin"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            down, _ = self.run_tool(tool, Op("get-file", bucket, "big.bin", target), "rss-down")
            same = file_hash(target) == file_hash(path)
            target.unlink(missing_ok=True)
            ctx.admin.drop_bucket(bucket)
            out.append({
                "size_mib": size // MiB, "upload_rss_mib": round(up.rss_mib, 1),
                "download_rss_mib": round(down.rss_mib, 1),
                "ok": up.returncode == 0 and down.returncode == 0 and same,
            })
            log(f"   rss scaling {size // MiB} MiB: up {up.rss_mib:.0f} MiB, "
                f"down {down.rss_mib:.0f} MiB")
        return out

    def save(self, results: dict[str, object], *, partial: bool) -> list[Path]:
        out: Path = self.args.out
        out.mkdir(parents=True, exist_ok=True)
        day = str(results["date"])[:10]
        host = results["machine"]["host"]  # type: ignore[index]
        stem = f"{day}-{host}" + ("-quick" if self.args.quick else "")
        stem += f"-{self.args.label}" if self.args.label else ""
        if partial:
            path = self.scratch / f"{stem}.partial.json"
            path.write_text(json.dumps(results, indent=1))
            return [path]
        paths = [out / f"{stem}.json", out / f"{stem}.md"]
        chart = None if self.args.no_chart else out / f"{stem}.png"
        paths[0].write_text(json.dumps(results, indent=1) + "\n")
        paths[1].write_text(report.markdown(results, chart=chart.name if chart else None))
        if chart is not None:
            report.chart(results, chart)
            paths.append(chart)
        return paths


def _big_rss(results: dict[str, object]) -> list[dict[str, object]]:
    """The 1 GiB row of the RSS scaling table: spacesync's worst run of the big workloads."""
    row: dict[str, object] = {"size_mib": results["sizes"]["big"] // MiB, "ok": True}  # type: ignore[index]
    for entry in results["workloads"]:  # type: ignore[attr-defined]
        rss = entry.get("summary", {}).get("spacesync", {}).get("rss_mib")
        if rss and entry["name"] == "upload-1file":
            row["upload_rss_mib"] = rss["max"]
        elif rss and entry["name"] == "download-1file":
            row["download_rss_mib"] = rss["max"]
    return [row] if "upload_rss_mib" in row and "download_rss_mib" in row else []


def _weed_version(bin_dir: Path) -> str:
    try:
        done = subprocess.run(
            [str(bin_dir / "weed"), "version"], capture_output=True, text=True, timeout=20,
            check=False,
        )
        return done.stdout.strip().splitlines()[0] if done.stdout.strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def main(argv: list[str] | None = None) -> int:
    return Runner(parse_args(argv)).main()
