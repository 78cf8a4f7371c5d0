"""scripts/lib/bench_report.py: the bench's arithmetic, verdicts and report on fixed inputs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts" / "lib"))

import bench_report  # noqa: E402
from bench_report import (Bench, Run, format_ratio, main, median, parse_bench_line,  # noqa: E402
                          performance_md, ratio, render_report, us_per_request, verdict)

# ---------------------------------------------------------------------------------------------
# Arithmetic


@pytest.mark.parametrize("values, expected", [
    ([3.0], 3.0),
    ([5.0, 1.0, 3.0], 3.0),                # unsorted input
    ([4.0, 1.0, 3.0, 2.0], 2.5),           # even count: the mean of the middle two
    ([20819.26, 18744.99], 19782.125),
    ([1.0, None, 9.0, None, 5.0], 5.0),    # unknown values (a run without requests) are left out
    ([], None),
    ([None], None),
])
def test_median_is_the_middle_value_or_the_mean_of_the_middle_two(values, expected):
    assert median(values) == expected


def test_ratio_is_unknown_without_a_positive_reference():
    assert ratio(17000.0, 20000.0) == pytest.approx(0.85)
    assert ratio(17000.0, 0.0) is None
    assert ratio(17000.0, -1.0) is None
    assert ratio(17000.0, None) is None
    assert ratio(None, 20000.0) is None


@pytest.mark.parametrize("r, shown", [
    (None, "-"),
    (1.0, "1.00"),
    (0.94123, "0.94"),
    (0.1, "0.10"),
    (0.0999, "0.0999"),       # below 0.1: four decimals, so a login's ratio is not 0.00
    (0.00123, "0.0012"),
])
def test_ratios_show_two_decimals_or_four_below_a_tenth(r, shown):
    assert format_ratio(r) == shown


@pytest.mark.parametrize("r, minimum, result", [
    (0.90, 0.85, "PASS"),
    (0.85, 0.85, "PASS"),     # the target itself passes
    (0.8496, 0.85, "PASS"),   # shown as 0.85: the row must not read "0.85 ... MISS"
    (0.844, 0.85, "MISS"),    # shown as 0.84
    (None, 0.85, "MISS"),     # no measurement is no pass
])
def test_a_ratio_passes_when_it_shows_at_least_the_target(r, minimum, result):
    assert verdict(r, minimum) == result


def test_quick_runs_are_not_judged():
    assert verdict(0.99, 0.85, judged=False) == "not judged (--quick)"
    assert verdict(0.10, 0.85, judged=False) == "not judged (--quick)"


def test_cpu_per_request_divides_the_ticks_by_the_requests():
    # 290 ticks of 1/100 s for 100000 requests: 2.9 s / 100000 = 29 µs
    assert us_per_request(1000, 1290, 100000, 100) == pytest.approx(29.0)
    assert us_per_request(0, 1800, 250, 100) == pytest.approx(72000.0)
    assert us_per_request(0, 50, 0, 100) is None


def test_the_bench_line_of_check_lua_is_parsed_and_its_absence_noticed():
    out = ("Running 1s test @ http://127.0.0.1:34277/\nRequests/sec:  15379.40\n"
           "BENCH requests=16919 checked=16919 rps=15379.40 p50_ms=0.895 p99_ms=4.475 "
           "mismatches=0 socket_errors=0 status_errors=0\n")
    assert parse_bench_line(out) == {
        "requests": "16919", "checked": "16919", "rps": "15379.40", "p50_ms": "0.895",
        "p99_ms": "4.475", "mismatches": "0", "socket_errors": "0", "status_errors": "0"}
    assert parse_bench_line("unable to connect to 127.0.0.1:1 Connection refused\n") is None


# ---------------------------------------------------------------------------------------------
# Runs: what counts as an error and as a failed run


def bench_output(rps, p50, p99, requests, mismatches=0, socket_errors=0):
    return (f"BENCH requests={requests} checked={requests} rps={rps:.2f} p50_ms={p50:.3f} "
            f"p99_ms={p99:.3f} mismatches={mismatches} socket_errors={socket_errors} "
            "status_errors=0\n")


def make_run(label="S1", round_="1", rc=0, output=None):
    if output is None:
        output = bench_output(17000, 0.7, 2.1, 85000)
    return Run(label, round_, rc, [0, 0, 0, 0], [340, 425, 0, 850], output)


def test_a_crashed_wrk_run_counts_as_a_failed_run_with_one_error_and_no_speed():
    for crashed in (make_run(rc=1), make_run(output="wrk: connection refused\n")):
        assert crashed.failed
        assert crashed.errors == 1
        assert (crashed.rps, crashed.p50, crashed.p99) == (0.0, 0.0, 0.0)
        assert crashed.cpu_us(100) == [None] * 4
        assert "wrk failed" in crashed.log_lines()[0]


def test_wrong_responses_and_socket_errors_are_errors_but_not_a_failed_run():
    run = make_run(output=bench_output(17000, 0.7, 2.1, 85000, mismatches=2, socket_errors=3))
    assert run.errors == 5
    assert not run.failed
    assert run.log_lines()[0] == "S1 round 1: 5 wrong responses of 85000"


def test_a_measured_run_without_requests_fails_but_a_warm_up_may_end_before_a_login():
    assert make_run("S4", "1", output=bench_output(0, 0, 0, 0)).failed
    assert not make_run("S4", "warm", output=bench_output(0, 0, 0, 0)).failed
    assert make_run("S4", "warm", rc=1).failed     # a crash fails even in the warm-up


def test_the_run_log_line_keeps_its_columns():
    assert make_run().log_lines() == [
        "S1  round 1      17000.0 req/s  p50     0.70 ms  p99     2.10 ms  errors 0"]


# ---------------------------------------------------------------------------------------------
# The report on a small fixed input: 3 rounds, a warm-up, 2 workers

# label: per round (rps, p50 ms, p99 ms, requests, mismatches, CPU ticks app/nginx/db/machine)
ROUNDS = {
    "C1": [(20000, 0.5, 2.0, 100000, 0, (290, 420, 0, 900)),
           (22000, 0.7, 3.0, 110000, 0, (330, 440, 0, 1000)),
           (18000, 0.6, 2.5, 90000, 0, (252, 378, 0, 810))],
    "S1": [(17000, 0.7, 2.1, 85000, 0, (340, 425, 0, 850)),
           (17100, 0.8, 2.2, 85000, 0, (340, 425, 0, 850)),
           (16900, 0.75, 2.0, 85000, 0, (340, 425, 0, 850))],
    "S2": [(7960, 1.6, 9.0, 40000, 0, (272, 224, 256, 868)),
           (8100, 1.7, 8.0, 40000, 0, (272, 224, 256, 868)),
           (7000, 1.5, 10.0, 40000, 0, (272, 224, 256, 868))],
    "S3": [(15000, 0.8, 2.4, 75000, 0, (285, 315, 0, 750)),
           (15500, 0.9, 2.6, 75000, 2, (285, 315, 0, 750)),
           (14000, 0.85, 2.5, 75000, 0, (285, 315, 0, 750))],
    "S4": [(25.4, 460, 1900, 250, 0, (1800, 6, 30, 1875)),
           (24.8, 470, 1800, 250, 0, (1850, 6, 30, 1875)),
           (26.0, 450, 2000, 250, 0, (1750, 6, 30, 1875))],
    "S5": [(22.4, 480, 1500, 220, 0, (1606, 5, 22, 1650)),
           (23.0, 490, 1600, 220, 0, (1606, 5, 22, 1650)),
           (21.0, 470, 1400, 220, 0, (1606, 5, 22, 1650))],
}
HASHES = [("70.000", "27.00"), ("80.000", "26.00"), ("75.000", "28.00")]  # verify ms, parallel/s

META = """\
started_at=2026-11-24 17:51:13 UTC
load_before=1.88 1.92 1.51
cores=2
cpu=AMD EPYC
build_type=RelWithDebInfo
quick=0
warmup=1
processes=2
threads=4
pwhash_max_concurrent=1
connections=16
users=16
rounds=3
duration=5
login_seconds=10
login_min_seconds=3
hash_tries=10
opslimit=2
memlimit=67108864
clk_tck=100
worker_pids=101 102
load_after=3.27 2.58 1.83
"""

EXPECTED_FULL_REPORT = """\
## Results

Run 2026-11-24 17:51:13 UTC on 2 cores (AMD EPYC), build RelWithDebInfo; full: 3 interleaved rounds of 5 s (10 s for S4, S5) after a 1 s warm-up per scenario.
authfcgi: 2 spawn-fcgi processes × 4 threads, at most 1 hash(es) at once per process; the ceiling the same. wrk -t1
-c16. Load average before/after: 1.88 1.92 1.51 / 3.27 2.58 1.83.
**Throttling raised for the bench:** `throttle_pair_max_failures`,
`throttle_stuffing_max_failures` and `throttle_distributed_max_failures` = 1000000 (the
configuration's maximum), else S5 would be answered 429 after 5 failures.

| scenario | req/s (median) | per round | p50 ms | p99 ms | errors | × ceiling S1 | target | result |
| --- | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |
| C1 ceiling: GET / (captured anonymous page) | 20000.0 | 20000 / 22000 / 18000 | 0.60 | 2.50 | 0 | 1.00 | (reference) |  |
| S1 GET / anonymous → 200 Hello, Anonymous! | 17000.0 | 17000 / 17100 / 16900 | 0.75 | 2.10 | 0 | 0.85 | ≥ 0.85 × ceiling | PASS |
| S2 GET / logged in (16 sessions) → 200 Hello, name! | 7960.0 | 7960 / 8100 / 7000 | 1.60 | 9.00 | 0 | 0.40 | ≥ 0.40 × ceiling; stretch ≥ 0.60 | PASS; stretch MISS |
| S3 GET /auth/login, no cookie → 200 csrf_token | 15000.0 | 15000 / 15500 / 14000 | 0.85 | 2.50 | 2 | 0.75 | ≥ 0.80 × ceiling | MISS |
| S4 POST /auth/login right password → 302 / | 25.4 | 25 / 25 / 26 | 460.00 | 1900.00 | 0 | 0.0013 | ≥ 0.90 × hash bound (is 0.95) | PASS |
| S5 POST /auth/login wrong password → 200 Invalid… | 22.4 | 22 / 23 / 21 | 480.00 | 1500.00 | 0 | 0.0011 | ≥ 0.90 × hash bound (is 0.84) | MISS |

CPU per request (µs of user + system time during each run ÷ the requests it completed;
medians of the rounds; the whole machine includes wrk and anything else running):

| scenario | workers (C1: the ceiling) | nginx | MariaDB | whole machine |
| --- | ---: | ---: | ---: | ---: |
| C1 | 29 | 42 | 0 | 90 |
| S1 | 40 | 50 | 0 | 100 |
| S2 | 68 | 56 | 64 | 217 |
| S3 | 38 | 42 | 0 | 100 |
| S4 | 72000 | 240 | 1200 | 75000 |
| S5 | 73000 | 227 | 1000 | 75000 |

Hash bound: one argon2id verify (opslimit 2, memlimit 64 MiB, one
thread, 10 tries just before S4 in each round) takes 75.000 ms (median), so 2
cores can verify at most **26.67 logins/s** (per round: 28.6 / 25.0 / 26.7;
0.0013 × ceiling S1). 2 threads verifying at once reached
27.00/s.

| worker process | idle RSS MiB | idle PSS MiB | during S4 RSS MiB (max) | during S4 PSS MiB (max) | after the run RSS / PSS MiB | target idle RSS ≤ 8 MiB |
| --- | ---: | ---: | ---: | ---: | ---: | --- |
| 1 (pid 101) | 7.6 | 3.0 | 72.3 | 69.3 | 8.1 / 3.3 | PASS |
| 2 (pid 102) | 8.2 | 2.7 | 70.3 | 65.4 | 8.1 / 3.3 | MISS |

Idle: 2 s after start-up and the session set-up (16 logins), before the warm-up; after the
run: 2 s after the last one. During S4:
sampled 4 times a second in S4's warm-up run of 3 s (16 connections logging in), not in the measured rounds. Errors: non-expected status, body or Location
(checked in wrk's Lua `response()`), plus socket errors; total **2**.
"""


def write_raw(raw: Path, meta: str = META, rounds: dict = ROUNDS) -> Path:
    """The files scripts/bench leaves in its work dir, for the fixed input."""
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "meta").write_text(meta)
    lines = []
    for label, per_round in rounds.items():
        # A warm-up run with wrong responses (and S4's without a completed login): neither
        # counts in the figures nor in the errors.
        warm_requests = 0 if label == "S4" else 10
        (raw / f"wrk.{label}.warm").write_text(
            bench_output(99999, 99, 99, warm_requests, mismatches=7))
        lines.append(f"{label} warm 0 0 0 0 0 500 500 500 500")
        for n, (rps, p50, p99, requests, mismatches, ticks) in enumerate(per_round, 1):
            (raw / f"wrk.{label}.{n}").write_text(
                "Running 5s test\n" + bench_output(rps, p50, p99, requests, mismatches))
            before = [1000, 2000, 3000, 4000]
            after = [b + t for b, t in zip(before, ticks)]
            lines.append(" ".join(str(v) for v in [label, n, 0, *before, *after]))
    (raw / "runs").write_text("\n".join(lines) + "\n")
    for n, (verify, parallel) in enumerate(HASHES, 1):
        (raw / f"hash.{n}").write_text(f"opslimit=2\nverify_ms_median={verify}\n"
                                       f"parallel_threads=2\nparallel_per_s={parallel}\n")
    (raw / "mem.idle").write_text("101 7782 3072\n102 8400 2800\n")
    (raw / "mem.s4").write_text("101 70000 65000\n102 72000 67000\n101 74000 69000\n"
                                "101 72000 71000\n")   # RSS and PSS peak in different samples
    (raw / "mem.after").write_text("101 8300 3400\n102 8250 3350\n")
    return raw


def test_the_full_report_of_a_fixed_input_has_its_medians_ratios_and_verdicts(tmp_path):
    assert render_report(Bench.load(write_raw(tmp_path))) == EXPECTED_FULL_REPORT


def test_a_quick_report_judges_nothing_and_says_so(tmp_path):
    meta = (META.replace("quick=0", "quick=1").replace("warmup=1", "warmup=0")
            .replace("rounds=3", "rounds=1").replace("duration=5", "duration=1")
            .replace("login_seconds=10", "login_seconds=3"))
    report = render_report(Bench.load(write_raw(tmp_path, meta)))
    assert ("full: " not in report and "--quick: 1 round of 1 s (3 s for S4, S5), no warm-up "
            "(a correctness check, not a measurement)." in report)
    assert "PASS" not in report and "MISS" not in report
    assert report.count("| not judged (--quick) |") == 5 + 2   # S1-S5, the two workers
    assert "sampled 4 times a second in S4's run (no warm-up in this mode)." in report


@pytest.mark.parametrize("idle_kib, result", [(8192, "PASS"), (8193, "MISS")])
def test_an_idle_worker_passes_up_to_8_mib_rss(tmp_path, idle_kib, result):
    raw = write_raw(tmp_path)
    (raw / "mem.idle").write_text(f"101 {idle_kib} 3072\n")
    report = render_report(Bench.load(raw))
    assert f"| 1 (pid 101) | {idle_kib / 1024:.1f} | 3.0 |" in report
    assert report.split("| 1 (pid 101) |")[1].split("\n")[0].endswith(f"| {result} |")
    # a worker without an idle sample is not judged a pass
    assert "| 2 (pid 102) | - | - | 70.3 | 65.4 | 8.1 / 3.3 | MISS |" in report


def test_a_crashed_measured_run_shows_as_zero_and_fails_the_bench(tmp_path, capsys):
    raw = write_raw(tmp_path)
    (raw / "wrk.S1.2").write_text("unable to connect to 127.0.0.1:1\n")
    runs = (raw / "runs").read_text().replace("S1 2 0 ", "S1 2 1 ")
    (raw / "runs").write_text(runs)
    bench = Bench.load(raw)
    assert "| 17000 / 0 / 16900 |" in render_report(bench)
    assert (bench.total_errors, bench.failed_runs) == (2 + 1, 1)
    assert main(["report", str(raw)]) == 1
    assert "bench: FAILED: 3 wrong responses, 1 failed runs" in capsys.readouterr().err


def test_an_unknown_label_is_not_dropped_from_the_report_silently(tmp_path):
    raw = write_raw(tmp_path)
    with open(raw / "runs", "a") as runs:
        runs.write("S9 1 0 0 0 0 0 1 1 1 1\n")
    with pytest.raises(SystemExit, match="S9"):
        render_report(Bench.load(raw))


def test_a_clean_run_passes_and_prints_the_report(tmp_path, capsys):
    clean = {label: [r[:4] + (0,) + r[5:] for r in per_round]
             for label, per_round in ROUNDS.items()}
    raw = write_raw(tmp_path, rounds=clean)
    assert main(["report", str(raw)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Results\n")
    assert "total **0**." in out
    assert out.endswith("bench: ok (every response checked, no errors)\n")


def test_the_hash_log_line_shows_the_bound(tmp_path, capsys):
    raw = write_raw(tmp_path)
    assert main(["hash", str(raw), "1"]) == 0
    assert capsys.readouterr().err == (
        "argon2id round 1    one verify   70.00 ms  bound  28.57 logins/s  "
        "(2 threads: 27.00/s)\n")


# ---------------------------------------------------------------------------------------------
# docs/performance.md


def test_rewriting_performance_md_keeps_the_intro_and_the_notes_below_the_marker():
    # The committed file, rebuilt from its own report, comes out byte for byte.
    docs = (REPO / "docs" / "performance.md").read_text()
    start = docs.index("## Results\n")
    end = docs.index("\n" + bench_report.MARKER + "\n")
    assert performance_md(docs[start:end], docs) == docs


def test_a_new_performance_md_ends_with_the_marker():
    text = performance_md("## Results\n\nfigures\n")
    assert text.startswith("# Performance\n")
    assert text.endswith("## Results\n\nfigures\n\n" + bench_report.MARKER + "\n")


def test_the_report_command_writes_the_file_and_keeps_its_notes(tmp_path, capsys):
    raw = write_raw(tmp_path / "raw")
    output = tmp_path / "performance.md"
    output.write_text("# old\n## Results\nold figures\n\n" + bench_report.MARKER
                      + "\n\n## Notes\nkept\n")
    main(["report", str(raw), "--output", str(output)])
    written = output.read_text()
    assert written == performance_md(EXPECTED_FULL_REPORT, "") + "\n## Notes\nkept\n"
    assert "old figures" not in written
    assert f"Report written to {output}" in capsys.readouterr().err


GATEWAY_ROUNDS = {
    "U6": [(50000, 0.2, 2.0, 250000, 0, (0, 400, 0, 700))] * 3,
    "B6": [(600, 27, 29, 3000, 0, (0, 1800, 0, 1850))] * 3,
    "S6": [(7500, 1.7, 8.0, 37500, 0, (270, 230, 250, 860)),
           (7000, 1.8, 9.0, 35000, 0, (270, 230, 250, 860)),
           (7300, 1.7, 8.5, 36500, 0, (270, 230, 250, 860))],
}


@pytest.mark.parametrize("s6_rps, result", [(7300, "PASS"), (7000, "MISS"), (1700, "MISS")])
def test_the_gateway_row_judges_s6_against_s2_and_against_auth_basic(tmp_path, s6_rps, result):
    rounds = {**ROUNDS, **GATEWAY_ROUNDS,
              "S6": [(s6_rps, 1.7, 8.0, 36500, 0, (270, 230, 250, 860))] * 3}
    report = render_report(Bench.load(write_raw(tmp_path, META + "bcrypt_cost=5\n", rounds)))
    row = next(line for line in report.splitlines() if line.startswith("| S6 "))
    # S2's median is 7960: 7300 is 0.92 of it, 7000 only 0.88; 1700 is under 3 x B6's 600.
    assert f"≥ 0.90 × S2 (is {s6_rps / 7960:.2f}), ≥ 3.00 × B6 (is {s6_rps / 600:.2f})" in row
    assert row.endswith(f"| {result} |")
    assert "| B6 GET the same file behind nginx auth_basic (htpasswd -B, bcrypt cost 5) |" in report
    assert report.index("| S5 ") < report.index("| U6 ") < report.index("| B6 ") < report.index("| S6 ")


def test_a_report_without_the_gateway_runs_leaves_their_rows_out(tmp_path):
    report = render_report(Bench.load(write_raw(tmp_path)))
    assert "| U6 " not in report and "| S6 " not in report


KEPT_ROUNDS = {
    # S1's CPU per request is 40 + 50 µs (workers + nginx), S2's 68 + 56.
    "S1K": [(24000, 0.5, 2.0, 85000, 0, (255, 340, 0, 700))] * 3,  # 30 + 40: -22.2 %
}


@pytest.mark.parametrize("s2k_ticks, change, verdict_text", [
    ((240, 200, 256, 800), "-11.3", "keepalive saves less than 15%: not worth shipping"),
    ((200, 160, 256, 700), "-27.4", "keepalive saves enough to ship"),
])
def test_keepalive_is_judged_by_the_cpu_per_request_it_saves_on_both_pages(
        tmp_path, s2k_ticks, change, verdict_text):
    rounds = {**ROUNDS, **KEPT_ROUNDS, "S2K": [(9000, 1.2, 9.0, 40000, 0, s2k_ticks)] * 3}
    report = render_report(Bench.load(write_raw(tmp_path, META + "keepalive=2\n", rounds)))
    assert "| S1 → S1K | 90 | 70 | -22.2 % | +41.2 % |" in report
    assert "| S2 → S2K | 124 |" in report and f"| {change} % |" in report
    assert f"Verdict: {verdict_text}." in report
    s1k = next(line for line in report.splitlines() if line.startswith("| S1K "))
    assert "(nginx fastcgi_keep_conn, keepalive 2)" in s1k
    assert s1k.endswith("| 1.20 | stretch: ≥ 1.20 × ceiling | PASS |")
    s2k = next(line for line in report.splitlines() if line.startswith("| S2K "))
    assert s2k.endswith("| 0.45 | stretch: ≥ 0.60 × ceiling | MISS |")


def test_a_report_without_the_kept_runs_has_no_keepalive_verdict(tmp_path):
    report = render_report(Bench.load(write_raw(tmp_path)))
    assert "| S1K " not in report and "Verdict" not in report
