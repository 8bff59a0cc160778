"""Turn a bench run into figures: medians, same-run ratios, the goals, a Markdown table and a chart."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

STAGES = ("ingest", "validate", "transform", "publish")
MIB_2GIB = 2048


def brief(result: dict) -> str:
    """One line of what a step did, for the console."""
    keys = ("versions", "received", "runs", "failed", "agencies", "agency_days", "differing_agencies", "step_seconds",
            "model_seconds")
    return " ".join(f"{k}={len(result[k]) if isinstance(result[k], list) else result[k]}" for k in keys if k in result)


def _median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def _orchestration(*stages: dict) -> float | None:
    if not all("run_seconds" in s for s in stages):
        return None
    return round(sum(s["run_seconds"] - s["step_seconds"] for s in stages) / sum(s["runs"] for s in stages), 3)


def run_figures(steps: dict) -> dict:
    """The figures of one run of one scale; every ratio is of two steps of that same run."""
    seconds = {name: step["seconds"] for name, step in steps.items()}
    cpu = {name: step["cpu_seconds"] for name, step in steps.items()}
    pipeline = sum(seconds[s] for s in STAGES)
    floor = seconds["floor_fetch"] + seconds["floor_query"]
    ingest, validate = steps["ingest"], steps["validate"]
    versions = ingest["result"]["versions"]
    return {
        "versions": versions,
        "received": ingest["result"]["received"],
        "end_to_end_seconds": round(pipeline, 3),
        "end_to_end_peak_rss_mb": max(steps[s]["peak_rss_mb"] for s in STAGES),
        "versions_per_second": round(versions / pipeline),
        "ingest_versions_per_second": round(versions / seconds["ingest"]),
        "floor_seconds": round(floor, 3),
        "pipeline_over_floor": _ratio(pipeline, floor),
        # The floor again with the simulator's own first serving of the day (generating and
        # rendering it) in place of the fetch from memory: what a slow source would make of it.
        "pipeline_over_source_floor": _ratio(pipeline, seconds.get("source", 0) + seconds["floor_query"]),
        "ingest_over_floor_fetch": _ratio(seconds["ingest"], seconds["floor_fetch"]),
        "transform_publish_over_floor_query": _ratio(seconds["transform"] + seconds["publish"], seconds["floor_query"]),
        "ingest_over_peer": _ratio(seconds["ingest"], seconds.get("peer")),
        # CPU seconds of the same steps: steadier than wall time when other work shares the cores.
        "pipeline_over_floor_cpu": _ratio(sum(cpu[s] for s in STAGES), cpu["floor_fetch"] + cpu["floor_query"]),
        "ingest_over_peer_cpu": _ratio(cpu["ingest"], cpu.get("peer")),
        # Time in a run outside its steps: Dagster's run machinery, per agency-day run.
        "orchestration_seconds_per_run": _orchestration(ingest["result"], validate["result"]),
        "dbt_model_seconds": steps["transform"]["result"].get("model_seconds"),
        "validate_plus_transform_seconds": round(seconds["validate"] + seconds["transform"], 3),
        **transform_phases(steps["transform"]["result"]),
        "floor_agrees": not steps["floor_query"]["result"]["differing_agencies"],
    }


# The build's phases (bench.fixed_costs), and Dagster's time in the KPI run outside its step.
PHASES = ("dbt_start_seconds", "dbt_parse_seconds", "dbt_nodes_seconds", "dbt_test_seconds", "dbt_end_seconds",
          "dagster_in_step_seconds")


def transform_phases(result: dict) -> dict:
    return {**{key: result.get(key) for key in PHASES}, "dagster_outside_step_seconds": _orchestration(result)}


def scale_summary(scale: dict) -> dict:
    """Medians over the runs of a scale: of each step's time and memory, and of each run's figures."""
    runs = scale["runs"]
    names = dict.fromkeys(name for r in runs for name in r)  # a failed peer is missing from its run
    steps = {name: {key: _median([r[name][key] for r in runs if name in r])
                    for key in ("seconds", "peak_rss_mb", "cpu_seconds")}
             for name in names}
    per_run = [run_figures(r) for r in runs]
    figures = {key: (all(f[key] for f in per_run) if isinstance(per_run[0][key], bool)
                     else _median([f[key] for f in per_run])) for key in per_run[0]}
    return {"scale": scale["scale"], "runs": len(runs), "steps": steps, "figures": figures}


def incremental_summary(entry: dict) -> dict:
    runs = {r["history_days"]: r for r in entry["runs"]}
    def ratios(key: str) -> dict:
        return {days: _ratio(r.get(key), runs[1].get(key)) for days, r in runs.items() if days != 1}

    # CPU seconds of the dbt process tree: steadier than wall time when other work shares the cores.
    return {"scale": entry["scale"], "agencies": len(entry["agencies"]), "runs": entry["runs"],
            "ratios": ratios("daily_run_seconds"), "cpu_ratios": ratios("daily_run_cpu_seconds")}


def goals(summaries: list[dict], incremental: list[dict]) -> list[dict]:
    """The issue's figures to chase, at the largest scale measured: reported, never asserted."""
    if not summaries:
        return []
    top = max(summaries, key=lambda s: s["scale"])
    f, scale = top["figures"], top["scale"]
    rows = [  # issue 18's
        (f"one day end to end at scale {scale}", "<= 60 s", f["end_to_end_seconds"], f["end_to_end_seconds"] <= 60),
        (f"pipeline / floor at scale {scale}", "<= 3", f["pipeline_over_floor"], f["pipeline_over_floor"] <= 3),
        (f"peak memory at scale {scale} (MiB)", f"< {MIB_2GIB}", f["end_to_end_peak_rss_mb"],
         f["end_to_end_peak_rss_mb"] < MIB_2GIB),
    ]
    if f["ingest_over_peer_cpu"] is not None:
        rows.append((f"ingest ours / peer in CPU at scale {scale}", "<= 0.5", f["ingest_over_peer_cpu"],
                     f["ingest_over_peer_cpu"] <= 0.5))
    for small in (s for s in summaries if s["scale"] == 0.01):  # issue 14's
        value = small["figures"]["validate_plus_transform_seconds"]
        rows.append(("validate + transform of one day at scale 0.01", "<= 10 s", value, value <= 10))
    for entry in incremental:
        for days, ratio in entry["ratios"].items():
            rows.append((f"daily run after {days} / after 1 day of history, scale {entry['scale']}", "<= 1.2",
                         ratio, ratio <= 1.2))
    return [{"goal": g, "target": t, "value": v, "met": m} for g, t, v, m in rows]


def phases_line(f: dict) -> str:
    """Where the transform's time went (bench.fixed_costs)."""
    if f.get("dbt_nodes_seconds") is None:
        return "The transform's phases were not recorded."
    return (f"Transform: dbt's start {f['dbt_start_seconds']} s (its imports), parse {f['dbt_parse_seconds']} s, "
            f"nodes {f['dbt_nodes_seconds']} s (models {f['dbt_model_seconds']} s and tests {f['dbt_test_seconds']} s "
            f"summed over its threads), end {f['dbt_end_seconds']} s; Dagster {f['dagster_in_step_seconds']} s in the "
            f"step beyond the dbt process, {f['dagster_outside_step_seconds']} s in the run outside the step. "
            f"Validate + transform {f['validate_plus_transform_seconds']} s.")


def per_process_line(results: dict) -> list[str]:
    fixed = results.get("per_process")
    if not fixed:
        return []
    return [f"Paid by every run's process before any work (each a fresh import, outside the steps' times): the code "
            f"location {fixed['code_location_seconds']} s; Great Expectations, once it is loaded, "
            f"{fixed['great_expectations_import_seconds']} s more (inside the validate step's time).", ""]


def markdown(results: dict, summaries: list[dict], incremental: list[dict], goal_rows: list[dict]) -> str:
    lines = [
        f"# Bench run {results['started']}",
        "",
        f"Day {results['day']} (one day's window: every dossier version updated that day), seed {results['seed']}, "
        f"{results['workers']} workers, {results['machine']['cpus']} CPUs, commit {results['machine']['commit']}; "
        f"load average {results['load_average_start'][0]:.1f} at start, {results['load_average_end'][0]:.1f} at end; "
        f"{results['seconds'] / 60:.1f} min in all. Medians over the runs of each scale; ratios are taken within a "
        "run, then their median.",
        "",
        "## Goals",
        "",
        "| goal | target | measured | met |",
        "|---|---|---|---|",
        *[f"| {g['goal']} | {g['target']} | {g['value']} | {'yes' if g['met'] else 'no'} |" for g in goal_rows],
        "",
    ]
    lines += per_process_line(results)
    for s in summaries:
        f = s["figures"]
        lines += [
            f"## Scale {s['scale']} ({s['runs']} run{'s' if s['runs'] > 1 else ''})",
            "",
            f"{f['versions']:,} dossier versions in the day's window ({f['received']:,} dossiers received that day). "
            f"End to end {f['end_to_end_seconds']} s = {f['versions_per_second']:,} versions/s; "
            f"pipeline / floor {f['pipeline_over_floor']} (CPU: {f['pipeline_over_floor_cpu']}; with the source's "
            f"first serving as the fetch: {f['pipeline_over_source_floor']}); ingest / floor fetch "
            f"{f['ingest_over_floor_fetch']}; ingest ours / peer {f['ingest_over_peer']} "
            f"(CPU: {f['ingest_over_peer_cpu']}); Dagster's own time "
            f"{'n/a' if f['orchestration_seconds_per_run'] is None else f['orchestration_seconds_per_run']} s "
            f"per agency-day run; dbt's models {f['dbt_model_seconds']} s "
            f"of the transform; floor figures equal the pipeline's: "
            f"{'yes' if f['floor_agrees'] else 'NO'}.",
            "",
            phases_line(f),
            "",
            "| step | seconds | peak MiB | CPU s | versions/s |",
            "|---|---|---|---|---|",
        ]
        for name, step in s["steps"].items():
            rate = f"{f['versions'] / step['seconds']:,.0f}" if name in STAGES + ("source", "floor_fetch", "peer") else ""
            lines.append(f"| {name} | {step['seconds']} | {step['peak_rss_mb']:.0f} | {step['cpu_seconds']} | {rate} |")
        lines += [f"| **end to end** (the four stages) | {f['end_to_end_seconds']} | {f['end_to_end_peak_rss_mb']:.0f} "
                  f"| | {f['versions_per_second']:,} |", ""]
    for entry in incremental:
        lines += [
            f"## Incremental, scale {entry['scale']} ({entry['agencies']} agencies)",
            "",
            "| history (days) | versions landed | backfill build s | daily run s | of which models s | CPU s | peak MiB "
            "| ratio to 1 day (CPU) | slowest models (s) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in entry["runs"]:
            ratio = entry["ratios"].get(r["history_days"], 1.0)
            cpu_ratio = entry.get("cpu_ratios", {}).get(r["history_days"], 1.0)
            slowest = ", ".join(f"{k} {v}" for k, v in (r["daily_run_slowest_models"] or {}).items())
            lines.append(f"| {r['history_days']} | {r['history_versions']:,} | {r['backfill_build_seconds']} | "
                         f"{r['daily_run_seconds']} | {r['daily_run_model_seconds']} | {r.get('daily_run_cpu_seconds')} "
                         f"| {r['daily_run_peak_rss_mb']:.0f} | {ratio} ({cpu_ratio}) | {slowest} |")
        lines.append("")
    return "\n".join(lines)


def chart(summaries: list[dict], incremental: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (time_ax, mem_ax, inc_ax) = plt.subplots(1, 3, figsize=(13, 4.2))
    labels = [str(s["scale"]) for s in summaries]
    x = range(len(summaries))
    bottom = [0.0] * len(summaries)
    for stage in STAGES:
        heights = [s["steps"][stage]["seconds"] for s in summaries]
        time_ax.bar([i - 0.27 for i in x], heights, 0.26, bottom=bottom, label=stage)
        bottom = [b + h for b, h in zip(bottom, heights)]
    time_ax.bar([i for i in x], [s["figures"]["floor_seconds"] for s in summaries], 0.26, label="floor", color="grey")
    time_ax.bar([i + 0.27 for i in x], [s["steps"].get("peer", {}).get("seconds", 0) for s in summaries], 0.26,
                label="peer (dlt, ingest only)", color="black")
    time_ax.set(xticks=list(x), xticklabels=labels, xlabel="scale", ylabel="seconds",
                title="One day: pipeline stages, floor, peer")
    time_ax.legend(fontsize=7)
    for offset, stage in enumerate(STAGES):
        mem_ax.bar([i + (offset - 1.5) * 0.2 for i in x], [s["steps"][stage]["peak_rss_mb"] for s in summaries],
                   0.2, label=stage)
    mem_ax.axhline(MIB_2GIB, color="red", linestyle="--", linewidth=1, label="2 GiB")
    mem_ax.set(xticks=list(x), xticklabels=labels, xlabel="scale", ylabel="peak MiB (process tree)",
               title="Peak memory per stage")
    mem_ax.legend(fontsize=7)
    for entry in incremental:
        runs = entry["runs"]
        inc_ax.plot([r["history_days"] for r in runs], [r["daily_run_seconds"] for r in runs], marker="o",
                    label=f"scale {entry['scale']}, {entry['agencies']} agencies")
    inc_ax.set(xscale="log", xlabel="days of history", ylabel="daily run (dbt build) s",
               title="Incremental cost")
    tallest = max((r["daily_run_seconds"] for e in incremental for r in e["runs"]), default=1.0)
    inc_ax.set_ylim(0, tallest * 1.25)
    if incremental:
        inc_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)


def write(results: dict, out: Path) -> tuple[Path, Path, Path]:
    """bench/results/<timestamp>.json, .md and .png."""
    summaries = [scale_summary(s) for s in sorted(results["scales"], key=lambda s: s["scale"])]
    incremental = [incremental_summary(e) for e in results["incremental"]]
    goal_rows = goals(summaries, incremental)
    results = {**results, "summary": summaries, "incremental_summary": incremental, "goals": goal_rows}
    out.mkdir(parents=True, exist_ok=True)
    stem = results["started"][:19].replace(":", "").replace("-", "")
    paths = (out / f"{stem}.json", out / f"{stem}.md", out / f"{stem}.png")
    paths[0].write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    paths[1].write_text(markdown(results, summaries, incremental, goal_rows), encoding="utf-8")
    chart(summaries, incremental, paths[2])
    return paths


if __name__ == "__main__":
    # `python -m bench.report bench/results/<timestamp>.json`: render a run's tables and chart again.
    import sys

    raw = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    for derived in ("summary", "incremental_summary", "goals"):
        raw.pop(derived, None)
    print("\n".join(str(p) for p in write(raw, Path(sys.argv[1]).parent)))
