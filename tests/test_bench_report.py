"""The bench's figures: ratios are taken between steps of the same run, then their median."""

from bench import report


def _step(seconds: float, cpu: float, mib: float = 100.0, **result) -> dict:
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_rss_mb": mib, "result": result}


def _run(factor: float) -> dict:
    """A run whose every step took `factor` times the reference (a slower host, say)."""
    return {
        "source": _step(20 * factor, 5),
        "floor_fetch": _step(4 * factor, 4),
        "ingest": _step(10 * factor, 20, 900, versions=1000, received=300, runs=2, run_seconds=11, step_seconds=9),
        "validate": _step(6 * factor, 12, 1200, runs=2, run_seconds=7, step_seconds=5),
        "transform": _step(3 * factor, 6, 600, model_seconds=1.5),
        "publish": _step(1 * factor, 2),
        "floor_query": _step(1 * factor, 1, differing_agencies=[]),
        "peer": _step(40 * factor, 30),
    }


def test_ratios_hold_however_slow_the_host():
    summary = report.scale_summary({"scale": 1.0, "runs": [_run(1.0), _run(3.0), _run(1.5)]})
    figures = summary["figures"]
    assert figures["pipeline_over_floor"] == 20 / 5  # ingest+validate+transform+publish over fetch+query
    assert figures["pipeline_over_source_floor"] == round(20 / 21, 3)
    assert figures["ingest_over_peer"] == 0.25
    assert figures["end_to_end_seconds"] == 30.0  # the median run
    assert figures["end_to_end_peak_rss_mb"] == 1200
    assert figures["orchestration_seconds_per_run"] == 1.0  # (11-9 + 7-5) / 4 runs
    assert figures["floor_agrees"] is True


def test_goals_are_judged_at_the_largest_scale_and_incremental_ratios_against_one_day():
    small, large = ({"scale": s, "runs": [_run(f)]} for s, f in ((0.01, 1.0), (1.0, 5.0)))
    incremental = report.incremental_summary({"scale": 0.01, "agencies": ["A", "B"], "runs": [
        {"history_days": 1, "daily_run_seconds": 20.0, "daily_run_cpu_seconds": 25.0},
        {"history_days": 365, "daily_run_seconds": 26.0, "daily_run_cpu_seconds": 27.5},
    ]})
    assert incremental["ratios"] == {365: 1.3} and incremental["cpu_ratios"] == {365: 1.1}
    goals = {g["goal"]: g for g in report.goals([report.scale_summary(small), report.scale_summary(large)],
                                               [incremental])}
    assert goals["one day end to end at scale 1.0"]["value"] == 100.0
    assert goals["one day end to end at scale 1.0"]["met"] is False  # over 60 s
    assert goals["pipeline / floor at scale 1.0"]["met"] is False  # 4.0
    assert goals["ingest ours / peer in CPU at scale 1.0"]["value"] == round(20 / 30, 3)
    assert goals["validate + transform of one day at scale 0.01"] == {
        "goal": "validate + transform of one day at scale 0.01", "target": "<= 10 s", "value": 9.0, "met": True}
    assert goals["daily run after 365 / after 1 day of history, scale 0.01"]["met"] is False


def test_the_cluster_plan_reports_rates_in_all_and_per_worker(tmp_path):
    from bench import cluster

    entry = {"scale": 0.1, "peak_rss_mb": 3000.0, "cpu_seconds": 500.0, "simulator_cpu_seconds": 40.0,
             "load_average": 1.0, "result": {
                 "workers": 2, "days": 14, "agency_days": 100, "versions": 50_000, "ingest_seconds": 50.0, "kpi_seconds": 30.0,
                 "ingestion_runs": 2, "ingestion_runs_at_once": 2, "stored_mb": 12.5, "warehouse_mb": 3.0,
                 "worker_peak_rss_mb": {"worker-1": 900, "worker-2": 1100}}}
    assert cluster.figures(entry) == {"agency_days_per_second": 2.0, "agency_days_per_second_per_worker": 1.0,
                                      "versions_per_second": 1000, "versions_per_second_per_worker": 500}
    results = {"started": "2026-12-01T10:00:00+07:00", "seed": 42, "runs_per_scale": 2, "last_day": "2026-11-28", "machine": {"cpus": 2, "memory_gib": 24, "commit": "abc1234"},
               "load_average_start": (1.0, 1.0, 1.0), "runs": [entry]}
    _json, markdown = cluster.write(results, tmp_path)
    assert markdown.name == "20261201T100000-cluster.md"
    assert markdown.read_text(encoding="utf-8").splitlines()[-1] == (
        "| 0.1 | 14 | 2 | 100 | 50,000 | 2 (2) | 50.0 | 2.0 | 1.0 | 1,000 | 500 | 30.0 | 1100 | 3000 | 500.0 | 40.0 "
        "| 12.5 | 3.0 | 1.00 |")


def test_a_build_is_cut_into_dbt_start_parse_nodes_end_and_dagster():
    from bench import fixed_costs

    run_results = {
        "metadata": {"invocation_started_at": "2026-12-02T05:00:04.000000Z", "generated_at": "2026-12-02T05:00:14.500000Z"},
        "elapsed_time": 8.0,
        "results": [{"unique_id": "model.egov_kpi.kpi_scores", "execution_time": 3.0},
                    {"unique_id": "test.egov_kpi.unique_x", "execution_time": 0.25},
                    {"unique_id": "test.egov_kpi.not_null_y", "execution_time": 0.5}],
    }
    started = fixed_costs._epoch("2026-12-02T05:00:00+00:00")
    phases = fixed_costs.dbt_phases(run_results, started, started + 15.0, step_seconds=18.0)
    assert phases == {"dbt_process_seconds": 15.0, "dbt_start_seconds": 4.0, "dbt_parse_seconds": 2.5,
                      "dbt_nodes_seconds": 8.0, "dbt_end_seconds": 0.5, "dbt_test_seconds": 0.75,
                      "dagster_in_step_seconds": 3.0}
