"""Draw docs/img/strategies.png: the four built-in strategies' waits for retries 1..10.

Run from the repository root (needs the ``docs`` extra, for matplotlib):

    .venv/bin/python docs/gen_strategy_plot.py            # writes docs/img/strategies.png
    .venv/bin/python docs/gen_strategy_plot.py out.png    # writes out.png

The delays come from the library itself, with each strategy's default parameters.
Jittered strategies are drawn as a band (10th to 90th percentile of 2,000 seeded
calls) around their median, so the picture is the same on every run.
"""

from __future__ import annotations

import random
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed

import matplotlib.pyplot as plt

from axios_like import (
    DecorrelatedJitter,
    ExponentialBackoff,
    FixedDelay,
    LinearBackoff,
    RetryStrategy,
)

ATTEMPTS = range(1, 11)
SAMPLES = 2_000


class _State:
    """The per-call facts a strategy reads (what the engine's RetryState provides)."""

    def __init__(self) -> None:
        self.attempt = 0
        self.previous_delay: float | None = None


def one_call(strategy: RetryStrategy) -> list[float]:
    """The waits of one call that is retried 10 times, as the engine asks for them."""
    state = _State()
    waits = []
    for attempt in ATTEMPTS:
        state.attempt = attempt
        delay = strategy.delay_for(state)
        state.previous_delay = delay
        waits.append(delay)
    return waits


def percentiles(strategy: RetryStrategy) -> tuple[list[float], list[float], list[float]]:
    """10th, 50th and 90th percentile of the wait before each retry."""
    runs = [one_call(strategy) for _ in range(SAMPLES)]
    low, mid, high = [], [], []
    for column in zip(*runs, strict=True):
        deciles = statistics.quantiles(column, n=10)
        low.append(deciles[0])
        mid.append(statistics.median(column))
        high.append(deciles[-1])
    return low, mid, high


def main(out: Path) -> None:
    rng = random.Random(2024)
    strategies: list[tuple[str, RetryStrategy, str]] = [
        ("FixedDelay(delay=1.0)", FixedDelay(), "tab:gray"),
        ("LinearBackoff(base=1, increment=1, max_delay=30)", LinearBackoff(), "tab:green"),
        (
            "ExponentialBackoff(base=1, multiplier=2, max_delay=30, jitter=0.5)",
            ExponentialBackoff(rng=rng),
            "tab:blue",
        ),
        ("DecorrelatedJitter(base=1, max_delay=30)", DecorrelatedJitter(rng=rng), "tab:orange"),
    ]
    xs = list(ATTEMPTS)
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=110)
    for label, strategy, colour in strategies:
        low, mid, high = percentiles(strategy)
        ax.plot(xs, mid, marker="o", color=colour, label=label)
        if low != high:
            ax.fill_between(xs, low, high, color=colour, alpha=0.18, linewidth=0)
    ax.set_xlabel("retry number (attempt passed to get_delay)")
    ax.set_ylabel("wait before the retry (seconds)")
    ax.set_title("Built-in retry strategies, default parameters (band: 10th-90th percentile)")
    ax.set_xticks(xs)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "img" / "strategies.png"
    )
