"""Benchmarks against the peer libraries (`netloupe bench`, benchmarks/)."""

from .report import load_results, load_rows, plot_results, summary_table, write_results
from .suite import BENCH_MODELS, BenchRow, build_model, memory_rows, run_suite
from .timing import Contender, paired_ratio, time_interleaved

__all__ = [
    "BENCH_MODELS",
    "BenchRow",
    "Contender",
    "build_model",
    "load_results",
    "load_rows",
    "memory_rows",
    "paired_ratio",
    "plot_results",
    "run_suite",
    "summary_table",
    "time_interleaved",
    "write_results",
]
