"""The engine stream with silence made visible: items in order, ticks while it is silent, errors
raised in the reader, and leaving early closes the source (which aborts the engine request)."""

import asyncio
from contextlib import aclosing

import pytest

from reasoning.chain import ticking
from reasoning.engine import ChainDelta


def delta(text: str) -> list[ChainDelta]:
    return [ChainDelta(index=0, token_ids=(1,), text=text, finish_reason=None)]


class Source:
    """An engine stream that yields its items after the given pauses and records being closed."""

    def __init__(self, pauses: list[float], fail: bool = False) -> None:
        self.pauses, self.fail, self.closed = pauses, fail, False

    async def stream(self):
        try:
            for number, pause in enumerate(self.pauses):
                await asyncio.sleep(pause)
                yield delta(str(number))
            if self.fail:
                raise RuntimeError("engine died")
        finally:
            self.closed = True


async def collect(source: Source, interval: float) -> list[str]:
    return ["tick" if not item else item[0].text async for item in ticking(source.stream(), interval)]


async def test_items_come_in_order_and_silence_ticks() -> None:
    source = Source([0, 0, 0.25, 0])
    seen = await collect(source, interval=0.1)
    assert [s for s in seen if s != "tick"] == ["0", "1", "2", "3"]
    assert "tick" in seen[seen.index("1") : seen.index("2")], seen  # ticks while the source was silent
    assert source.closed


async def test_a_busy_source_never_ticks() -> None:
    assert await collect(Source([0.01] * 20), interval=2) == [str(n) for n in range(20)]


async def test_the_source_error_is_raised_to_the_reader() -> None:
    source = Source([0], fail=True)
    with pytest.raises(RuntimeError, match="engine died"):
        await collect(source, interval=1)
    assert source.closed


async def test_leaving_early_closes_the_source() -> None:
    source = Source([0, 10])
    async with aclosing(ticking(source.stream(), 0.05)) as stream:
        async for item in stream:
            assert item[0].text == "0"
            break
    assert source.closed
    assert not [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
