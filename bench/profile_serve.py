"""Where ours spends its CPU under load: py-spy samples the server and its engine processes
while `vllm bench serve` drives it.

    python -m bench.profile_serve [--concurrency 1 64] [--prompts 24 96] [--top 25]

For each concurrency, starts ours on a free 127.0.0.1 port, runs the field's client on the same
streaming hard products as bench.serve_compare, samples every process of the server with py-spy
(non-blocking, so the sampler never pauses it; idle threads not counted), and prints per
process: samples, the functions with the most own time, and the share of time inside our own
packages (reasoning/, server/) by module. Writes the raw stacks to bench/results/profile/.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from bench import servers
from bench.serve_compare import ENV, EXTRA_BODY, PEER, client
from training.data import question, sample_problem

RESULTS = servers.ROOT / "bench" / "results" / "profile"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^():]*)(?::\d+)?\)$")
PROCESS = re.compile(r"^process \d+:")
OURS = re.compile(r"/(reasoning|server)/(\w+)\.py$")


def sampled(pid: int, out: Path):
    """py-spy recording every process of `pid` until stopped with SIGINT."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--subprocesses",
         "--nonblocking", "--rate", "200", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def summary(raw: Path, top: int) -> str:
    """Per process: samples, top own-time functions, and time inside our modules."""
    own: dict[str, Counter] = defaultdict(Counter)
    inside: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # py-spy nests each child's frames under its parents' "process PID:"cmdline"" frames
        at = max(i for i, f in enumerate(frames) if f.startswith("process "))
        process = PROCESS.sub("", frames[at]).strip('"')[:60]
        samples = int(count)
        totals[process] += samples
        parsed = [FRAME.match(f) for f in frames[at + 1 :]]
        if parsed:
            leaf = parsed[-1]
            own[process][f"{leaf['function']} ({Path(leaf['file']).name})" if leaf else frames[-1]] += samples
        modules = {f"{o[1]}/{o[2]}" for m in parsed if m and (o := OURS.search(m["file"]))}
        for module in modules:
            inside[process][module] += samples
    lines = []
    for process, total in totals.most_common():
        lines.append(f"\n## {process}: {total} samples\n\nown time:")
        lines += [f"  {n / total:6.1%}  {name}" for name, n in own[process].most_common(top)]
        if inside[process]:
            lines.append("inside our modules (inclusive):")
            lines += [f"  {n / total:6.1%}  {module}" for module, n in inside[process].most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64])
    parser.add_argument(
        "--prompts", type=int, nargs="+", help="requests per concurrency (default 24 at 1 stream, else 96)"
    )
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--kinds", nargs="+", choices=["ours", "vllm"], default=["ours"], help="vllm: `vllm serve`")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = args.prompts or [24 if concurrency == 1 else 96 for concurrency in args.concurrency]
    RESULTS.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    dataset = RESULTS / "hard.jsonl"
    questions = [question(rng, sample_problem(rng, "hard")) for _ in range(max(counts))]
    dataset.write_text("".join(json.dumps({"prompt": q}) + "\n" for q in questions))
    for kind in args.kinds:
        for concurrency, prompts in zip(args.concurrency, counts, strict=True):
            name = f"{kind}-c{concurrency}"
            with servers.running(kind, RESULTS / name, extra=PEER[kind], **ENV[kind]) as (url, _, pid):
                raw = RESULTS / f"{name}.txt"
                spy = sampled(pid, raw)
                saved = client(url, dataset, prompts, concurrency, RESULTS / f"{name}.json")
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            print(f"\n# {kind}, concurrency {concurrency}: {saved['output_throughput']:.0f} output tok/s, "
                  f"{saved['duration']:.1f} s for {prompts} requests ({json.dumps(EXTRA_BODY)})")  # fmt: skip
            print(summary(raw, args.top), flush=True)


if __name__ == "__main__":
    main()
