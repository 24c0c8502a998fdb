"""Find problems where greedy decoding is wrong but a self-consistency vote is right.

    python -m bench.vote_cases [--problems 600] [--tier hard] [--effort high]

Asks the server (started on a free 127.0.0.1 port) each problem greedily; for every wrong
answer, samples nine chains at temperature 0.8 with a few seeds and prints the cases whose
majority is right: the e2e test of the vote uses one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from pathlib import Path

import httpx

from bench import servers
from training.data import parse_answer, question, sample_problem


async def answer(client: httpx.AsyncClient, text: str, **body) -> dict:
    payload = {"model": "tiny-reasoner", "messages": [{"role": "user", "content": text}], **body}
    response = await client.post("/v1/chat/completions", json=payload)
    response.raise_for_status()
    return response.json()


async def scan(url: str, problems: list, seeds: int, effort: str) -> None:
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:

        async def greedy(problem, text):
            async with limit:
                got = await answer(client, text, temperature=0, reasoning_effort=effort)
            return problem, text, parse_answer(got["choices"][0]["message"]["content"])

        wrong = [r for r in await asyncio.gather(*(greedy(p, t) for p, t in problems)) if r[2] != r[0].value]
        print(f"{len(wrong)} of {len(problems)} greedy answers are wrong")
        for problem, text, said in wrong:
            for seed in range(seeds):
                reasoning = {"effort": effort, "strategy": "self_consistency", "samples": 9}
                got = await answer(client, text, temperature=0.8, seed=seed, reasoning=reasoning)
                votes = got["reasoning"]["votes"]
                if votes.get(str(problem.value), 0) > 4:
                    print(f"question={text!r} seed={seed} greedy={said} value={problem.value} votes={votes}")
                    break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=600)
    parser.add_argument("--tier", default="hard")
    parser.add_argument("--seed", type=int, default=99)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--effort", default="high", help="the greedy answer's and every sample's effort")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    problems = [(p := sample_problem(rng, args.tier), question(rng, p)) for _ in range(args.problems)]
    with servers.running("ours", Path(servers.ROOT / "bench" / "results" / "vote-run")) as (url, _, _):
        asyncio.run(scan(url, problems, args.seeds, args.effort))


if __name__ == "__main__":
    main()
