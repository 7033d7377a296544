"""Per-trace facts: step tree, totals, cost, retries, stop reasons, loops, route, findings."""

from .findings import CRITICAL, INFO, WARN, Finding
from .trace import Analyzer, TraceAnalysis, analyze

__all__ = ["CRITICAL", "INFO", "WARN", "Analyzer", "Finding", "TraceAnalysis", "analyze"]
