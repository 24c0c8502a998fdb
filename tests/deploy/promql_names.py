"""Metric names in a PromQL expression, found without a PromQL parser.

promtool checks the syntax; this only needs to tell metric names from functions,
keywords, label names, strings and windows.
"""

from __future__ import annotations

import re

# Every metric the server (server/metrics.py) and vLLM expose that dashboards and
# alerts may use, plus Prometheus' own `up`. A name outside this list is a typo or a
# metric nobody records: its panel stays empty and its alert never fires.
KNOWN_METRICS = frozenset(
    {
        "reasoning_requests_total",
        "reasoning_tokens_total",
        "reasoning_reasoning_tokens_bucket",
        "reasoning_reasoning_tokens_sum",
        "reasoning_reasoning_tokens_count",
        "reasoning_budget_exhausted_total",
        "reasoning_cost_usd_total",
        "reasoning_request_duration_seconds_bucket",
        "reasoning_request_duration_seconds_sum",
        "reasoning_request_duration_seconds_count",
        "reasoning_time_to_first_answer_token_seconds_bucket",
        "reasoning_time_to_first_answer_token_seconds_sum",
        "reasoning_time_to_first_answer_token_seconds_count",
        "reasoning_requests_in_flight",
        "reasoning_trace_reads_total",
        "reasoning_trace_store_errors_total",
        "reasoning_key_spend_ratio",
        "vllm:kv_cache_usage_perc",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "up",
    }
)

# Words that look like metric names but are PromQL keywords (and Inf/NaN literals).
_KEYWORDS = frozenset(
    ["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "inf", "nan"]
)
_STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    expr = _STRINGS.sub('""', expr)  # label values and regexes may contain anything
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range and subquery windows
    expr = re.sub(r"\boffset\s+-?\w+", "", expr)
    expr = _LABEL_LISTS.sub(" ", expr)
    expr = re.sub(r"\$\{?\w+\}?", "", expr)  # Grafana variables outside strings
    names = set()
    for match in _IDENTIFIER.finditer(expr):
        name, is_call = match.groups()
        if not is_call and name.lower() not in _KEYWORDS:
            names.add(name)
    return names
