"""Draw the Grafana dashboard from a real Prometheus, as deploy/grafana/preview.png.

Grafana does not run on the development machines, so this renders what the dashboard shows:
it starts the server (the embedded model) with an admin key and two budgeted user keys, and a
Prometheus that scrapes it every second, both on 127.0.0.1 with the helpers of devtools/; sends
a few minutes of mixed traffic (efforts, budget caps, streams, the Responses API, refused
requests, admin trace reads); then runs every panel's query of dashboards/reasoning-server.json
through Prometheus's query API and plots the answers with matplotlib in the dashboard's grid.

    .venv/bin/python deploy/grafana/render_preview.py                    # about 5 minutes
    .venv/bin/python deploy/grafana/render_preview.py --url http://127.0.0.1:8000 --minutes 2

Needs Debian's `prometheus` (scripts/install-system-deps.sh) and matplotlib (the `train` extra).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import matplotlib.dates as mdates
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from devtools.prometheus import query, query_range, start_prometheus, stop_prometheus  # noqa: E402
from devtools.server import start_server, stop_server  # noqa: E402

DASHBOARD = Path(__file__).parent / "dashboards" / "reasoning-server.json"
OUT = Path(__file__).parent / "preview.png"
MODEL = "tiny-reasoner"
PROBLEMS = ["What is 347 * 29?", "What is 4821 + 77?", "what is 86 x 45", "What is 608 times 7?", "What is 734 * 869?"]
STEP_SECONDS = 5
RATE_WINDOW = "30s"  # $__rate_interval: Grafana's choice for a 1 s scrape would be shorter and noisier
TIME_FORMAT = mdates.DateFormatter("%H:%M:%S")
# Grafana's dark theme and classic palette.
BACKGROUND, PANEL, TEXT, GRID = "#111217", "#181b1f", "#ccccdc", "#2c3235"
HEAT = LinearSegmentedColormap.from_list("grafana-oranges", ["#4a2a10", "#ff780a", "#ffd9a0"])  # on a dark panel
PALETTE = ["#73bf69", "#f2cc0c", "#8ab8ff", "#ff780a", "#f2495c", "#5794f2", "#b877d9", "#37872d", "#fade2a"]


# --- traffic -------------------------------------------------------------------------------


def create_keys(data_dir: Path) -> list[str]:
    """An admin key and two budgeted user keys, made with `reasoning-server keys create` beside
    the running server; [admin, user, user]. The server then needs a key on every request."""

    def create(*flags: str) -> str:
        command = [sys.executable, "-m", "server.cli", "keys", "create", *flags, "--data-dir", str(data_dir)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
        return done.stdout.strip().splitlines()[-1]

    return [
        create("--role", "admin", "--name", "preview-admin"),
        create("--role", "user", "--name", "team-a", "--budget-usd", "0.05"),
        create("--role", "user", "--name", "team-b", "--budget-usd", "0.02"),
    ]


def one_request(client: httpx.Client, rng: random.Random, admin: str | None) -> None:
    """One request of a realistic mix: most succeed, some hit their budget, a few are refused;
    now and then an admin reads a stored trace."""
    question = rng.choice(PROBLEMS)
    chat = {"model": MODEL, "messages": [{"role": "user", "content": question}]}
    kind = rng.choices(["effort", "capped", "stream", "responses", "refused", "n2"], [5, 2, 2, 2, 1, 1])[0]
    response = None
    if kind == "effort":
        effort = rng.choice(["low", "medium", "high"])
        response = client.post("/v1/chat/completions", json={**chat, "reasoning_effort": effort})
    elif kind == "capped":
        response = client.post("/v1/chat/completions", json={**chat, "reasoning": {"max_tokens": rng.choice([8, 24])}})
    elif kind == "stream":
        with client.stream("POST", "/v1/chat/completions", json={**chat, "stream": True}) as streamed:
            for _ in streamed.iter_lines():
                pass
    elif kind == "responses":
        body = {"model": MODEL, "input": question, "reasoning": {"effort": "high", "summary": "auto"}}
        client.post("/v1/responses", json=body)
    elif kind == "refused":
        client.post("/v1/chat/completions", json={**chat, "reasoning": {"budget_usd": 1e-9}})
    else:
        client.post("/v1/chat/completions", json={**chat, "n": 2, "temperature": 0.8})
    if admin and response is not None and response.status_code == 200 and rng.random() < 0.2:
        trace = response.json()["reasoning"]["id"]
        client.get(f"/v1/reasoning/traces/{trace}", headers={"authorization": f"Bearer {admin}"})


def drive(url: str, seconds: float, workers: int, keys: list[str]) -> None:
    """Traffic that rises and falls: one client, then all of them, then half."""
    started = time.monotonic()
    admin, users = (keys[0], keys[1:]) if keys else (None, [])

    def active(elapsed: float) -> int:
        phase = elapsed / seconds
        return 1 if phase < 0.3 else workers if phase < 0.7 else max(1, workers // 2)

    def worker(number: int) -> None:
        rng = random.Random(number)
        headers = {"authorization": f"Bearer {users[number % len(users)]}"} if users else {}
        with httpx.Client(base_url=url, timeout=120, headers=headers) as client:
            while (elapsed := time.monotonic() - started) < seconds:
                if number < active(elapsed):
                    one_request(client, rng, admin)
                else:
                    time.sleep(0.5)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


# --- queries -------------------------------------------------------------------------------


def promql(expr: str) -> str:
    """A panel's query as Grafana would send it with model=All."""
    return expr.replace("$__rate_interval", RATE_WINDOW).replace("${model}", ".*").replace("$model", ".*")


def legend(template: str, labels: dict[str, str]) -> str:
    text = template
    for key, value in labels.items():
        text = text.replace("{{" + key + "}}", value)
    return text.replace("{{", "").replace("}}", "").strip() or "value"


def panel_data(prometheus, panel: dict, start: float, end: float) -> list[tuple[str, list[float], list[float]]]:
    """[(legend, times, values)] for every series of every query of the panel."""
    series = []
    for target in panel["targets"]:
        expr = promql(target["expr"])
        if target.get("instant"):
            result = [{"metric": r["metric"], "values": [r["value"]]} for r in query(prometheus, expr)]
        else:
            result = query_range(prometheus, expr, start, end, STEP_SECONDS)
        for item in result:
            points = [(float(t), float(v)) for t, v in item["values"] if v not in ("NaN", "+Inf", "-Inf")]
            name = legend(target.get("legendFormat", ""), item["metric"])
            series.append((name, [t for t, _ in points], [v for _, v in points]))
    return series


# --- drawing -------------------------------------------------------------------------------


def unit_formatter(unit: str) -> FuncFormatter:
    def short(value: float) -> str:
        for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
            if abs(value) >= limit:
                return f"{value / limit:.3g}{suffix}"
        return f"{value:.3g}"

    formats = {
        "percentunit": lambda v: f"{v * 100:.0f}%",
        "currencyUSD": lambda v: f"${v:.6f}".rstrip("0").rstrip("."),
        "s": lambda v: f"{v * 1000:.0f} ms" if 0 < abs(v) < 1 else f"{v:.3g} s",
        "reqps": lambda v: f"{short(v)} req/s",
        "ops": lambda v: f"{short(v)} ops/s",
    }
    return FuncFormatter(lambda v, _: formats.get(unit, short)(v))


def style(ax, title: str) -> None:
    ax.set_facecolor(PANEL)
    ax.set_title(title, color=TEXT, fontsize=10, loc="left", fontweight="bold")
    ax.tick_params(colors=TEXT, labelsize=7)
    for spine in ax.spines.values():
        spine.set_color(GRID)
    ax.grid(color=GRID, linewidth=0.6)


def no_data(ax) -> None:
    ax.text(0.5, 0.5, "No data", color=TEXT, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_timeseries(ax, panel: dict, series) -> None:
    defaults = panel.get("fieldConfig", {}).get("defaults", {})
    for i, (name, times, values) in enumerate(series):
        ax.plot([datetime.fromtimestamp(t) for t in times], values, color=PALETTE[i % len(PALETTE)], lw=1.4, label=name)
    ax.yaxis.set_major_formatter(unit_formatter(defaults.get("unit", "short")))
    ax.xaxis.set_major_formatter(TIME_FORMAT)
    ax.set_ylim(bottom=defaults.get("min", 0), top=defaults.get("max"))
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.1), ncol=5, fontsize=7, frameon=False, labelcolor=TEXT)


def draw_heatmap(ax, series) -> None:
    """Cumulative `le` buckets -> the count in each bucket per step, as Grafana's heatmap does."""
    buckets = sorted(((float(name), values, times) for name, times, values in series if name != "+Inf"))
    if not buckets:
        return no_data(ax)
    times = buckets[0][2]
    counts, below = [], [0.0] * len(times)
    for _, values, _ in buckets:
        counts.append([max(0.0, v - b) for v, b in zip(values, below, strict=False)])
        below = values
    seen = [i for i, row in enumerate(counts) if any(row)]
    if not seen:
        return no_data(ax)
    shown = [[value or float("nan") for value in row] for row in counts[: seen[-1] + 2]]  # empty cells: background
    moments = [datetime.fromtimestamp(t) for t in times]
    ax.pcolormesh(moments, range(len(shown)), shown, cmap=HEAT, shading="nearest")
    ax.set_yticks(range(len(shown)), [f"≤{le:g}" for le, _, _ in buckets[: len(shown)]])
    ax.xaxis.set_major_formatter(TIME_FORMAT)
    ax.grid(False)


def draw_bargauge(ax, series) -> None:
    """Horizontal bars of each series' last value, coloured by the panel's thresholds."""
    last = sorted(((name, values[-1]) for name, _, values in series if values), key=lambda item: item[1])
    colours = ["#f2495c" if v >= 0.9 else "#ff9830" if v >= 0.75 else "#73bf69" for _, v in last]
    ax.barh(range(len(last)), [value for _, value in last], color=colours, height=0.6)
    for row, (name, value) in enumerate(last):
        ax.text(0.005, row + 0.38, f"{name}  {value * 100:.1f}%", color=TEXT, fontsize=8, va="bottom")
    ax.set_yticks([])
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, len(last) - 0.1)
    ax.xaxis.set_major_formatter(unit_formatter("percentunit"))


def render(prometheus, start: float, end: float, out: Path) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dashboard["panels"])
    fig = Figure(figsize=(20, rows * 0.42), facecolor=BACKGROUND)
    grid = fig.add_gridspec(rows, 24, hspace=2.4, wspace=1.6, left=0.05, right=0.99, top=0.95, bottom=0.02)
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        ax = fig.add_subplot(grid[pos["y"] : pos["y"] + pos["h"] - 2, pos["x"] : pos["x"] + pos["w"]])
        style(ax, panel["title"])
        series = panel_data(prometheus, panel, start, end)
        if not any(values for _, _, values in series):
            no_data(ax)
        elif panel["type"] == "heatmap":
            draw_heatmap(ax, series)
        elif panel["type"] == "bargauge":
            draw_bargauge(ax, series)
        else:
            draw_timeseries(ax, panel, series)
    when = f"{datetime.fromtimestamp(start):%Y-%m-%d %H:%M} to {datetime.fromtimestamp(end):%H:%M}"
    title = f"{dashboard['title']}: preview from a live server and Prometheus, {when}, model = All"
    fig.suptitle(title, color=TEXT, fontsize=13, x=0.04, ha="left")
    fig.savefig(out, dpi=90, facecolor=BACKGROUND)
    print(f"wrote {out}")


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--url", help="a running server in open mode (default: start one, with API keys)")
    args.add_argument("--minutes", type=float, default=4.0, help="how long to send traffic")
    args.add_argument("--workers", type=int, default=4, help="concurrent clients at the peak")
    args.add_argument("--out", type=Path, default=OUT)
    options = args.parse_args()
    with tempfile.TemporaryDirectory(prefix="render-preview-") as tmp:
        (Path(tmp) / "server").mkdir()
        server = None if options.url else start_server(Path(tmp) / "server")
        url = options.url or server.url
        prometheus = start_prometheus(Path(tmp) / "prometheus", url)
        try:
            keys = create_keys(server.data_dir) if server is not None else []
            start = time.time()
            drive(url, options.minutes * 60, options.workers, keys)
            time.sleep(3)  # the last scrape
            render(prometheus, start, time.time(), options.out)
        finally:
            stop_prometheus(prometheus)
            if server is not None:
                stop_server(server)


if __name__ == "__main__":
    main()
