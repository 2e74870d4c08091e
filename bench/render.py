"""Renders bench/run.sh's results (JSON lines) as the generated section of docs/benchmarks.md.

Run by bench/run.sh with its settings in the environment; not meant to be run by hand. Only the
text between the bench/run.sh:begin and :end markers is replaced (appended at the end of the file
when the markers are missing), so the hand-written rest of the file is kept.
"""
import json
import os
import sys

BEGIN = "<!-- bench/run.sh:begin -->"
END = "<!-- bench/run.sh:end -->"

env = os.environ
ticks = float(env["BENCH_CLK_TCK"])
rows = [json.loads(line) for line in open(env["BENCH_RESULTS"]) if line.strip()]


def by(kind, broker):
    return [r for r in rows if r["kind"] == kind and r["broker"] == broker]


def ratio(s, k):
    if s is None or k is None or k == 0:
        return "n/a"
    return f"**{s / k:.2f}**"


def num(v, digits=1):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}f}"


def cell_name(r):
    size = "1 KB" if r["bytes"] == 1024 else f'{r["bytes"]} B'
    parts = "partition" if r["partitions"] == 1 else "partitions"
    return f'{size}, acks={r["acks"]}, {r["partitions"]} {parts}'


def throughput_figures(r):
    p, c = r["produce"], r["consume"]
    gb_p, gb_c = p["bytes"] / 1e9, c["bytes"] / 1e9
    return {
        "produce_mbs": p["mb_per_sec"],
        "produce_rps": p["records_per_sec"],
        "consume_mbs": c["mb_per_sec"],
        "cpu_per_gb_produced": (r["cpu_produce_ticks"] / ticks / gb_p) if gb_p else None,
        "cpu_per_gb_consumed": (r["cpu_consume_ticks"] / ticks / gb_c) if gb_c else None,
        "peak_rss_mb": r["peak_rss_kb"] / 1024,
        "gb_moved": gb_p + gb_c,
        "errors": p["errors"] + c["errors"],
    }


def throughput_tables():
    s_rows, k_rows = by("throughput", "sluice"), by("throughput", "kfake")
    ratios = [
        "| cell | produce MB/s | consume MB/s | broker CPU s per GB produced (lower is better) "
        "| broker CPU s per GB consumed (lower is better) | broker peak RSS (lower is better) |",
        "|---|---|---|---|---|---|",
    ]
    absolute = [
        "| cell | broker | produce MB/s (records/s) | consume MB/s | CPU s/GB produced "
        "| CPU s/GB consumed | peak RSS MB | GB moved | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s, k in zip(s_rows, k_rows):
        fs, fk = throughput_figures(s), throughput_figures(k)
        ratios.append(
            f"| {cell_name(s)} | {ratio(fs['produce_mbs'], fk['produce_mbs'])} "
            f"| {ratio(fs['consume_mbs'], fk['consume_mbs'])} "
            f"| {ratio(fs['cpu_per_gb_produced'], fk['cpu_per_gb_produced'])} "
            f"| {ratio(fs['cpu_per_gb_consumed'], fk['cpu_per_gb_consumed'])} "
            f"| {ratio(fs['peak_rss_mb'], fk['peak_rss_mb'])} |"
        )
        for name, f in (("Sluice", fs), ("kfake", fk)):
            absolute.append(
                f"| {cell_name(s)} | {name} | {num(f['produce_mbs'])} ({num(f['produce_rps'], 0)}) "
                f"| {num(f['consume_mbs'])} | {num(f['cpu_per_gb_produced'], 2)} "
                f"| {num(f['cpu_per_gb_consumed'], 2)} | {num(f['peak_rss_mb'], 0)} "
                f"| {num(f['gb_moved'], 2)} | {f['errors']} |"
            )
    return ratios, absolute


def latency_rows(label, s, k, keys=("p50", "p95", "p99", "p99_9", "max")):
    names = {"p50": "p50", "p95": "p95", "p99": "p99", "p99_9": "p99.9", "max": "max"}
    out = []
    for key in keys:
        sv = s[key] if s else None
        kv = k[key] if k else None
        out.append((f"{label} {names[key]} ms", sv, kv))
    return out


def group_rows():
    out = []
    s_e2e, k_e2e = by("e2e", "sluice"), by("e2e", "kfake")
    if s_e2e and k_e2e:
        out += latency_rows("end-to-end latency", s_e2e[0]["result"].get("latency_ms"), k_e2e[0]["result"].get("latency_ms"))
    for s, k in zip(by("rebalance", "sluice"), by("rebalance", "kfake")):
        b = s["result"]["balancer"]
        out += latency_rows(f"rebalance, {b}, member leaves → Stable,", s["result"]["leave_ms"], k["result"]["leave_ms"], ("p50", "max"))
        out += latency_rows(f"rebalance, {b}, member joins → Stable,", s["result"]["join_ms"], k["result"]["join_ms"], ("p50", "max"))
    for s, k in zip(by("commit", "sluice"), by("commit", "kfake")):
        sr, kr = s["result"], k["result"]
        label = f'offset commits/s, {sr["partitions"]} partitions each, {sr["parallel"]} in flight'
        out.append((label + " (higher is better)", sr["commits_per_sec"], kr["commits_per_sec"]))
        out += latency_rows(f'offset commit, {sr["parallel"]} in flight,', sr.get("latency_ms"), kr.get("latency_ms"), ("p50", "p99"))
    return out


def errors_note():
    bad = []
    for kind in ("e2e", "commit"):
        for r in rows:
            if r["kind"] == kind and r["result"].get("errors"):
                bad.append(f'{r["broker"]} {kind}: {r["result"]["errors"]} errors')
    return ("Errors reported: " + "; ".join(bad) + ".") if bad else "No run reported errors."


def render():
    ratios, absolute = throughput_tables()
    other = group_rows()
    lines = [
        BEGIN,
        "## Sluice against kfake, everything in one run (`bench/run.sh`)",
        "",
        "Generated by `bench/run.sh`; do not edit by hand (rerun it). Both brokers run on this",
        "machine one after the other, driven by the same `sluice bench` client process (franz-go,",
        "idempotent producer for acks=all and a plain one for acks=1, 5 requests in flight per",
        "broker, no compression). kfake is",
        "franz-go's reference broker run as its own process with its `DataDir` option (`bench/kfake`).",
        "",
        f"- Run: {env['BENCH_STARTED']}, commit `{env['BENCH_COMMIT_ID']}`, load average before the run {env['BENCH_LOAD']}.",
        f"- Machine: {env['BENCH_MACHINE']}.",
        f"- Command: `{env['BENCH_COMMAND']}`.",
        f"- Throughput cells: a fresh broker and data directory per cell; `sluice bench produce` for"
        f" {env['BENCH_DURATION_USED']}, then `sluice bench consume` reads every record back. Broker CPU is"
        " the broker process's utime+stime during each phase (/proc/PID/stat) over the GB moved in it;"
        " peak RSS is its VmHWM at the end of the cell.",
        f"- End-to-end: `sluice bench e2e`, {env['BENCH_E2E_USED']}; latency is produce call → delivery"
        " to the consumer.",
        f"- Rebalance: `sluice bench rebalance`, {env['BENCH_RB_USED']}; time until DescribeGroups shows"
        " the group Stable with every partition assigned. Remaining members learn of a rebalance at"
        " their next heartbeat, so a leave costs at least one heartbeat interval and a cooperative join"
        " two (it rebalances twice); the broker's own share is the excess.",
        f"- Offset commits: `sluice bench commit`, {env['BENCH_COMMIT_USED']} (synchronous OffsetCommit"
        " of a group without members; Sluice answers once the commit is appended to `__consumer_offsets`).",
        f"- {errors_note()}",
        "",
        "### Ratios, Sluice / kfake (higher is better unless marked)",
        "",
        *ratios,
        "",
        "| measure | Sluice / kfake (lower is better unless marked) |",
        "|---|---|",
        *[f"| {label} | {ratio(s, k)} |" for label, s, k in other],
        "",
        "### Absolute figures",
        "",
        *absolute,
        "",
        "| measure | Sluice | kfake |",
        "|---|---|---|",
        *[f"| {label} | {num(s, 2)} | {num(k, 2)} |" for label, s, k in other],
        END,
    ]
    return "\n".join(lines) + "\n"


def main():
    section = render()
    path = env["BENCH_OUT_FILE"]
    if path == "-":
        sys.stdout.write(section)
        return
    text = open(path).read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote the bench/run.sh section of {path}", file=sys.stderr)


main()
