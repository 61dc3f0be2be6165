"""The tables and verdicts of benchmarks/serving_latency.py, from its measurements."""
import os
from typing import Dict, List, Tuple

from benchmarks.compare_with_tfx_example import machine

REFERENCE = "in-process, Session"
BATCHING = os.path.join(os.path.dirname(__file__), "batching.config")  # see its comment
# Each latency measure of the server: the `serve` options that turn it off, the server it is
# measured on (the event loop is the bound where requests are batched; the executor everywhere)
# and the transports it concerns.
ABLATIONS = {
    "single-threaded executor": (["--default-executor"], "plain", ("REST", "gRPC")),
    "uvloop event loop": (["--asyncio-loop"], "batching", ("REST", "gRPC")),
    "several gRPC acceptors": (["--grpc-acceptors", "1"], "batching", ("gRPC",)),
    "TF threads not spinning": (["--tf-thread-spinning"], "batching", ("REST", "gRPC")),
}
BASES = {"plain": [], "batching": ["--batching-parameters-file", BATCHING]}
# The frozen heap spares the pauses of full garbage collections, which come about once a second
# under sustained load: measured on the mixed load (the ablation's short blocks seldom meet one).
UNFROZEN = ("batching, without frozen heap", BASES["batching"] + ["--no-gc-freeze"])
PAYS = 0.05  # a latency measure stays if it gains this much on one client's p50 or at 16 clients
MAX_RSS_GROWTH_MIB = 16


def _by(results: List[dict]) -> Dict[Tuple[str, int, int], dict]:
    return {(r["transport"], r["batch"], r["clients"]): r for r in results}


def verdicts(results: List[dict], mixed: Dict[str, dict]) -> List[Tuple[str, bool]]:
    """The issue's targets, each as (sentence, met)."""
    by, found = _by(results), []
    for transport in ("REST, batching", "gRPC, batching"):
        ratio = by[(transport, 1, 16)]["requests_per_s"] / by[(REFERENCE, 1, 16)]["requests_per_s"]
        found.append((f"{transport}, 16 clients x 1 example: {ratio:.2f}x the in-process "
                      "throughput (target >= 0.6x)", ratio >= 0.6))
        p99 = by[(transport, 1, 16)]["p99_ms"]
        found.append((f"{transport}, 16 clients x 1 example: p99 {p99:.1f} ms (target <= 15 ms)",
                      p99 <= 15))
    for transport in ("REST", "gRPC", "REST, batching", "gRPC, batching"):
        at16, at64 = by[(transport, 1, 16)], by[(transport, 1, 64)]
        found.append((f"{transport}, 64 clients x 1 example: {at64['requests_per_s']:.0f} req/s "
                      f"vs {at16['requests_per_s']:.0f} at 16, {at64['errors']} errors (target: "
                      "no lower, no error)", at64["requests_per_s"] >= at16["requests_per_s"] * 0.95
                      and at64["errors"] == 0))
    ratio = by[("gRPC, batching", 100, 16)]["examples_per_s"] / by[(REFERENCE, 100, 16)]["examples_per_s"]
    found.append((f"gRPC, batching, 16 clients x 100 examples: {ratio:.2f}x the in-process "
                  "examples/s (target >= 0.5x)", ratio >= 0.5))
    for transport in ("REST", "gRPC"):
        over = by[(transport, 1, 1)]["p50_ms"] - by[(REFERENCE, 1, 1)]["p50_ms"]
        found.append((f"{transport}, 1 client x 1 example: p50 {over:+.2f} ms over in-process "
                      "(target <= +1.5 ms)", over <= 1.5))
    for name, load in ((name, mixed[name]) for name in BASES):  # not the ablation's server
        growth = load["rss_after_mib"] - load["rss_before_mib"]
        found.append((f"mixed load ({name}): {load['valid_failed']} of {load['valid']} valid requests "
                      f"failed, {load['malformed_not_400']} malformed not answered 400, memory "
                      f"{growth:+.0f} MiB (target: 0, 0, <= +{MAX_RSS_GROWTH_MIB} MiB)",
                      load["valid_failed"] == 0 and load["malformed_not_400"] == 0
                      and growth <= MAX_RSS_GROWTH_MIB))
    return found


def ablation_rows(ablation: List[dict]) -> List[Tuple[str, str, float, float, float, bool]]:
    """Per measure and transport: (measure, transport, 1-client p50 gain, 16-client throughput
    gain, 16-client p99 gain, pays)."""
    by, rows = _by(ablation), []
    for measure, (_, base, transports) in ABLATIONS.items():
        for transport in transports:
            on, off = f"{transport}, {base}, all on", f"{transport}, {base}, without {measure}"
            p50_gain = 1 - by[(on, 1, 1)]["p50_ms"] / by[(off, 1, 1)]["p50_ms"]
            rate_gain = by[(on, 1, 16)]["requests_per_s"] / by[(off, 1, 16)]["requests_per_s"] - 1
            p99_gain = 1 - by[(on, 1, 16)]["p99_ms"] / by[(off, 1, 16)]["p99_ms"]
            rows.append((measure, transport, p50_gain, rate_gain, p99_gain,
                         max(p50_gain, rate_gain, p99_gain) >= PAYS))
    return rows


def render(results: List[dict], mixed: Dict[str, dict], ablation: List[dict]) -> str:
    info, by = machine(), _by(results)
    lines = [f"{info['cores']} cores, {info['memory_gib']} GiB; {info['date']}; clients (h2load for gRPC, hey "
             f"for REST) and server on the same machine. Ratios against `{REFERENCE}` from as many "
             "threads.", "",
             "| transport | examples | clients | p50 ms | p99 ms | requests/s | examples/s | "
             "throughput vs in-process | errors |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = r["requests_per_s"] / by[(REFERENCE, r["batch"], r["clients"])]["requests_per_s"]
        lines.append(f"| {r['transport']} | {r['batch']} | {r['clients']} | {r['p50_ms']:.2f} | "
                     f"{r['p99_ms']:.2f} | {r['requests_per_s']:.0f} | {r['examples_per_s']:.0f} | "
                     f"{ratio:.2f}x | {r['errors']} |")
    lines += ["", "Mixed load, REST, 64 clients for 20 s (after a 10 s round), 1-32 examples, one request "
              "in five malformed:",
              "", "| server | valid requests | failed | malformed not 400 | p50 ms | p99 ms | "
              "memory before -> after MiB |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, load in mixed.items():
        lines.append(f"| {name} | {load['valid']} | {load['valid_failed']} | "
                     f"{load['malformed_not_400']} | {load['p50_ms']:.1f} | {load['p99_ms']:.1f} | "
                     f"{load['rss_before_mib']:.0f} -> {load['rss_after_mib']:.0f} |")
    lines += ["", "What each latency measure buys (the server with it on vs off, same run):", "",
              "| measure | server | transport | 1 client p50 gain | 16 clients throughput gain | "
              f"16 clients p99 gain | pays (>= {PAYS:.0%}) |", "|---|---|---|---:|---:|---:|---|"]
    for measure, transport, p50_gain, rate_gain, p99_gain, pays in ablation_rows(ablation):
        lines.append(f"| {measure} | {ABLATIONS[measure][1]} | {transport} | {p50_gain:+.1%} | "
                     f"{rate_gain:+.1%} | {p99_gain:+.1%} | {'yes' if pays else 'no'} |")
    frozen, unfrozen = mixed["batching"], mixed[UNFROZEN[0]]
    p99_gain = 1 - frozen["p99_ms"] / unfrozen["p99_ms"]
    valid_gain = frozen["valid"] / unfrozen["valid"] - 1
    lines += ["", f"- frozen heap (gc.freeze), batching server, mixed load: p99 {unfrozen['p99_ms']:.0f} -> "
              f"{frozen['p99_ms']:.0f} ms ({p99_gain:+.1%}), valid requests answered {valid_gain:+.1%}: "
              f"pays: {'yes' if max(p99_gain, valid_gain) >= PAYS else 'no'}", ""]
    lines += [f"- {sentence}: {'met' if met else 'MISSED'}" for sentence, met in verdicts(results, mixed)]
    return "\n".join(lines) + "\n"
