"""Benchmarks against the peer libraries (`netloupe bench`, benchmarks/)."""

from .suite import BenchRow, build_model, memory_rows, run_suite, write_results

__all__ = ["BenchRow", "build_model", "memory_rows", "run_suite", "write_results"]
