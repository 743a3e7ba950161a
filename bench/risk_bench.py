"""Risk simulation speed: seclo against pyfair and a per-year Python loop, on the same 50 scenarios.

Usage: pip install -e '.[bench]'; python bench/risk_bench.py [--runs 100000] [--big-runs 1000000]

Each contender runs in its own child process, so its peak RSS is its own. The portfolio is a security risk
register, what pyfair is for: 50 scenarios with rates from 0.02 to 2 events a year (geometric steps) and
lognormal losses (meanlog 10 to 14, sdlog 1.5 to 3). seclo's cost grows with the number of simulated events
(about 15 ns each), so a second, "mixed" portfolio that swaps half the register for frequent outages (2 to
20 a year, lognormal(0.1, 1.7) hours at 20k to 200k an hour) is timed too.

- seclo: run_portfolio (compound Poisson-lognormal; every statistic, exceedance curve and analytic check).
- pyfair 0.1a13: one FairModel per scenario, Loss Event Frequency and Loss Magnitude as BetaPERT(low, mode,
  high) around the same rate and severity (pyfair has neither Poisson counts nor a lognormal: it multiplies
  one frequency draw by one magnitude draw per run, a different model), then a FairMetaModel over them.
  riskquant (Netflix) is not on PyPI and GitHub is not reachable here, so it is not measured.
- loop: the straightforward per-year Python loop of the same compound model (numpy draws per year), on the
  first --loop-scenarios scenarios, extrapolated to 50 (the output says so).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

from seclo.risk.distributions import Frequency, Lognormal
from seclo.risk.portfolio import run_portfolio
from seclo.risk.scenario import Scenario, Variant

SCENARIOS = 50


def _scenarios(portfolio: str = "register") -> list[dict[str, Any]]:
    register = [
        {
            "name": f"sec-{i}",
            "rate": 0.02 * 100 ** (i / (SCENARIOS - 1)),
            "meanlog": 10 + (i % 9) * 0.5,
            "sdlog": 1.5 + (i % 7) * 0.25,
        }
        for i in range(SCENARIOS)
    ]
    if portfolio == "register":
        return register
    outages = [
        {
            "name": f"out-{i}",
            "rate": 2 + 18 * i / 24,
            "meanlog": 0.1 + math.log(20_000 + 7_500 * i),
            "sdlog": 1.7,
        }
        for i in range(SCENARIOS // 2)
    ]
    return register[::2] + outages


def _seclo(runs: int, portfolio: str) -> dict[str, float]:
    scenarios = [
        Scenario(
            s["name"],
            None,
            "security",
            Variant("baseline", Frequency(s["rate"]), Lognormal(s["meanlog"], s["sdlog"])),
        )
        for s in _scenarios(portfolio)
    ]
    start, cpu = time.perf_counter(), time.process_time()
    result = run_portfolio(scenarios, runs, 1, keep_losses=False)
    events = sum(s["rate"] for s in _scenarios(portfolio)) * runs
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "mean": result.total.mean,
        "events": events,
    }


def _pyfair(runs: int, portfolio: str) -> dict[str, float]:
    from pyfair import FairMetaModel, FairModel  # noqa: PLC0415 - optional: the bench extra

    start, cpu = time.perf_counter(), time.process_time()
    models = []
    for s in _scenarios(portfolio):
        model = FairModel(name=s["name"], n_simulations=runs, random_seed=1)
        rate, median = s["rate"], math.exp(s["meanlog"])
        model.input_data("Loss Event Frequency", low=rate / 2, mode=rate, high=rate * 2)
        high = math.exp(s["meanlog"] + 2.33 * s["sdlog"])
        model.input_data("Loss Magnitude", low=median / 10, mode=median, high=high)
        model.calculate_all()
        models.append(model)
    meta = FairMetaModel(name="portfolio", models=models)
    meta.calculate_all()
    total = meta.export_results()["Risk"].mean()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "mean": float(total)}


def _loop(runs: int, portfolio: str, count: int) -> dict[str, float]:
    rng = np.random.default_rng(1)
    start, cpu = time.perf_counter(), time.process_time()
    total = 0.0
    for s in _scenarios(portfolio)[:count]:
        for _ in range(runs):
            n = rng.poisson(s["rate"])
            total += float(rng.lognormal(s["meanlog"], s["sdlog"], n).sum()) if n else 0.0
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "mean": total / runs}


def _child(name: str, runs: int, portfolio: str, loop_count: int) -> None:
    if name == "seclo":
        result = _seclo(runs, portfolio)
    elif name == "pyfair":
        result = _pyfair(runs, portfolio)
    else:
        result = _loop(runs, portfolio, loop_count)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def _measure(name: str, runs: int, portfolio: str = "register", loop_count: int = 0) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", name, "--runs", str(runs), "--portfolio", portfolio]
    command += ["--loop-scenarios", str(loop_count)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603 - our own script
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run every contender and print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--big-runs", type=int, default=1_000_000)
    parser.add_argument("--loop-scenarios", type=int, default=5)
    parser.add_argument("--portfolio", default="register", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.runs, args.portfolio, args.loop_scenarios)
        return
    seclo = _measure("seclo", args.runs)
    pyfair = _measure("pyfair", args.runs)
    loop = _measure("loop", args.runs, loop_count=args.loop_scenarios)
    big = _measure("seclo", args.big_runs)
    mixed = _measure("seclo", args.runs, "mixed")
    loop_50 = loop["seconds"] * SCENARIOS / args.loop_scenarios
    print(f"register: {SCENARIOS} scenarios x {args.runs:,} runs ({seclo['events']:,.0f} simulated events)")
    print(
        f"  seclo   {seclo['seconds']:7.3f} s wall {seclo['cpu']:7.3f} s cpu  peak {seclo['peak_mb']:5.0f} MB"
        "   goal <= 0.3 s, <= 200 MB"
    )
    ratio, cpu_ratio = pyfair["seconds"] / seclo["seconds"], pyfair["cpu"] / seclo["cpu"]
    print(
        f"  pyfair  {pyfair['seconds']:7.3f} s wall {pyfair['cpu']:7.3f} s cpu  peak {pyfair['peak_mb']:5.0f} MB"
        f"   seclo {ratio:.1f}x faster by wall, {cpu_ratio:.1f}x by cpu (goal >= 7x)"
    )
    print(
        f"  loop    {loop_50:7.3f} s  (measured {loop['seconds']:.2f} s on {args.loop_scenarios} scenarios,"
        f" scaled to {SCENARIOS})   seclo {loop_50 / seclo['seconds']:.0f}x faster"
    )
    print(f"register: {SCENARIOS} scenarios x {args.big_runs:,} runs ({big['events']:,.0f} simulated events)")
    print(
        f"  seclo   {big['seconds']:7.3f} s wall {big['cpu']:7.3f} s cpu  peak {big['peak_mb']:5.0f} MB"
        "   goal <= 5 s, bounded memory"
    )
    print(
        f"mixed (25 outage scenarios): {SCENARIOS} scenarios x {args.runs:,} runs ({mixed['events']:,.0f} events)"
    )
    print(
        f"  seclo   {mixed['seconds']:7.3f} s wall {mixed['cpu']:7.3f} s cpu  peak {mixed['peak_mb']:5.0f} MB"
    )


if __name__ == "__main__":
    main()
