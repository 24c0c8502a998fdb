"""Streaming-safe split of one chain's output into hidden reasoning and visible answer.

Text is split on the marker strings, holding back any tail that could be the start of a
marker, so a marker cut across stream chunks never leaks. Tokens are counted on the
marker token ids, so `reasoning_tokens` is exactly what the engine's thinking budget
counts: the tokens between the start sequence and the forced/natural end sequence.
Whitespace that belongs to the markers is trimmed from both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ThinkMarkers:
    start_text: str  # "<think>"
    end_text: str  # "</think>"
    start_id: int
    end_id: int
    start_suffix: tuple[int, ...] = ()  # tokens that follow start_id in the start sequence ("\n")
    end_prefix: tuple[int, ...] = ()  # tokens that precede end_id in the end sequence ("\n")
    end_suffix: tuple[int, ...] = ()  # tokens that follow end_id in the end sequence ("\n")

    @property
    def end_sequence(self) -> tuple[int, ...]:
        """The whole end-of-thinking sequence, as the engine forces it."""
        return (*self.end_prefix, self.end_id, *self.end_suffix)


@dataclass
class Piece:
    reasoning: str = ""
    answer: str = ""


@dataclass
class ThinkSplitter:
    markers: ThinkMarkers
    in_reasoning: bool  # True when the prompt already opened thinking
    reasoning_tokens: int = 0
    completion_tokens: int = 0
    closed: bool = False  # an end marker was seen
    _pending: str = ""
    _answer_started: bool = False
    _token_ids: list[int] = field(default_factory=list)
    _span_start: int = 0  # index in _token_ids where the current thinking span began
    _span_end: int | None = None  # where the first thinking span's end sequence began
    _counting: bool = False

    def __post_init__(self) -> None:
        self._counting = self.in_reasoning

    def feed(self, token_ids: Sequence[int], text: str) -> Piece:
        self._count(token_ids)
        self._pending += text
        return self._drain(final=False)

    def finish(self) -> Piece:
        """Flush held-back text; thinking still open at the end stays reasoning."""
        if self._counting:
            self.reasoning_tokens += len(self._token_ids) - self._span_start
            self._counting = False
        return self._drain(final=True)

    def _count(self, token_ids: Sequence[int]) -> None:
        m = self.markers
        for token in token_ids:
            self._token_ids.append(token)
            self.completion_tokens += 1
            position = len(self._token_ids)
            if self._counting and token == m.end_id:
                span_end = position - 1
                if m.end_prefix and tuple(self._token_ids[span_end - len(m.end_prefix) : span_end]) == m.end_prefix:
                    span_end -= len(m.end_prefix)
                self.reasoning_tokens += max(0, span_end - self._span_start)
                self._span_end = span_end if self._span_end is None else self._span_end
                self._counting = False
            elif not self._counting and token == m.start_id:
                self._span_start = position + len(m.start_suffix)
                self._counting = True

    @property
    def thinking_ids(self) -> tuple[int, ...]:
        """Generated tokens up to the end of the first thinking span, its end marker
        excluded: what to append to the prompt to resume that thinking."""
        return tuple(self._token_ids[: self._span_end])

    def _drain(self, *, final: bool) -> Piece:
        piece = Piece()
        while self._pending:
            marker = self.markers.end_text if self.in_reasoning else self.markers.start_text
            at = self._pending.find(marker)
            if at < 0:
                keep = 0 if final else _partial_marker_tail(self._pending, marker)
                self._emit(piece, self._pending[: len(self._pending) - keep])
                self._pending = self._pending[len(self._pending) - keep :]
                break
            self._emit(piece, self._pending[:at])
            self._pending = self._pending[at + len(marker) :]
            self.in_reasoning = not self.in_reasoning
            self.closed = self.closed or not self.in_reasoning
        return piece

    def _emit(self, piece: Piece, text: str) -> None:
        if self.in_reasoning:
            piece.reasoning += text
            return
        if not self._answer_started:
            text = text.lstrip()
            self._answer_started = bool(text)
        piece.answer += text


def _partial_marker_tail(text: str, marker: str) -> int:
    """Length of the longest suffix of text that is a proper prefix of marker."""
    for size in range(min(len(marker) - 1, len(text)), 0, -1):
        if marker.startswith(text[-size:]):
            return size
    return 0
