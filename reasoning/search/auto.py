"""auto (effort "auto"): a probe chain at the `low` budget. If the model ends its thinking
within it, or answers confidently when it is cut, that is the answer: easy prompts cost what
they need. Otherwise the probe's thinking resumes where it was cut, up to the `high` budget:
hard prompts get more."""

from __future__ import annotations

import math

from reasoning.search.sampler import Decision, Sampler, Search

AUTO_CONFIDENCE = math.log(0.9)  # mean answer-token probability that accepts a cut probe's answer


async def auto(sampler: Sampler, search: Search) -> Decision:
    budget = sampler.budget
    probe_limits = budget.probe()
    low = probe_limits.reasoning_tokens
    [probe] = await sampler.sample(1, probe_limits)
    confident = (probe.answer_mean_logprob or -math.inf) >= AUTO_CONFIDENCE
    if not probe.exhausted(low) or confident or low >= budget.limits.reasoning_tokens:
        return Decision((probe,))
    limits = budget.resumption(len(probe.thinking_ids), sampler.spent)
    if limits is None:  # nothing left to resume with: the probe's answer stands
        return Decision((probe,), stopped_by_budget=True)
    [resumed] = await sampler.sample(1, limits, show=True, resume=probe)
    return Decision((resumed,))
