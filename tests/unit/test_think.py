"""The think splitter: reasoning never reaches the answer, token counts are exact."""

from reasoning.think import ThinkMarkers, ThinkSplitter

START, END, NL = 1000, 1001, ord("\n")
MARKERS = ThinkMarkers("<think>", "</think>", START, END, start_suffix=(NL,), end_prefix=(NL,))


def tokens(text: str) -> list[tuple[list[int], str]]:
    """Character tokens, with the markers as single tokens, as the tiny model's tokenizer has them."""
    out, i = [], 0
    while i < len(text):
        for marker, token in (("<think>", START), ("</think>", END)):
            if text.startswith(marker, i):
                out.append(([token], marker))
                i += len(marker)
                break
        else:
            out.append(([ord(text[i])], text[i]))
            i += 1
    return out


def split(text: str, in_reasoning: bool = True, chunk: int = 1):
    splitter = ThinkSplitter(MARKERS, in_reasoning=in_reasoning)
    pieces = tokens(text)
    reasoning = answer = ""
    for at in range(0, len(pieces), chunk):
        group = pieces[at : at + chunk]
        piece = splitter.feed([t for ids, _ in group for t in ids], "".join(s for _, s in group))
        reasoning, answer = reasoning + piece.reasoning, answer + piece.answer
    tail = splitter.finish()
    return reasoning + tail.reasoning, answer + tail.answer, splitter


def test_natural_end_counts_exactly_the_tokens_between_the_markers():
    reasoning, answer, s = split("12+3\n1+3=4\n</think>\nThe answer is 15.")
    assert reasoning.strip() == "12+3\n1+3=4"
    assert answer == "The answer is 15."
    assert s.reasoning_tokens == len("12+3\n1+3=4")  # the "\n" before </think> belongs to the marker
    assert s.completion_tokens == len("12+3\n1+3=4\n") + 1 + len("\nThe answer is 15.")
    assert s.closed


def test_a_forced_end_mid_line_is_exact_too():
    _reasoning, answer, s = split("347*2\n7*2=1\n</think>\nThe answer is 694.")
    assert s.reasoning_tokens == len("347*2\n7*2=1") and answer == "The answer is 694."


def test_zero_reasoning():
    reasoning, answer, s = split("\n</think>\nThe answer is 4.")
    assert s.reasoning_tokens == 0 and reasoning.strip() == "" and answer == "The answer is 4."


def test_marker_split_across_chunks_never_leaks():
    text = "abc\n</think>\nok"
    for chunk in (1, 2, 3, 5):
        splitter = ThinkSplitter(MARKERS, in_reasoning=True)
        # text arrives in arbitrary slices, the marker's characters spread over several chunks
        seen = ""
        for at in range(0, len(text), chunk):
            piece = splitter.feed([], text[at : at + chunk])
            seen += piece.answer
            assert "<" not in piece.answer and "think" not in piece.answer
        seen += splitter.finish().answer
        assert seen == "ok"


def test_missing_end_marker_keeps_everything_hidden():
    reasoning, answer, s = split("1+1=2\n2+2=4")
    assert answer == "" and reasoning == "1+1=2\n2+2=4"
    assert s.reasoning_tokens == s.completion_tokens == len("1+1=2\n2+2=4") and not s.closed


def test_thinking_reopened_in_the_answer_is_hidden_again():
    reasoning, answer, s = split("a\n</think>\nThe <think>\nsecret\n</think>\nanswer")
    assert "secret" not in answer and "think" not in answer
    assert answer.split() == ["The", "answer"]
    assert "secret" in reasoning
    assert s.reasoning_tokens == len("a") + len("secret")


def test_a_model_that_opens_thinking_itself():
    reasoning, answer, s = split("<think>\nhmm\n</think>\n\nYes.", in_reasoning=False)
    assert reasoning.strip() == "hmm" and answer == "Yes."
    assert s.reasoning_tokens == 3


def test_no_thinking_at_all():
    _reasoning, answer, s = split("The answer is 4.", in_reasoning=False)
    assert answer == "The answer is 4." and s.reasoning_tokens == 0


def test_stray_angle_brackets_in_the_answer_are_shown_once_clear():
    _, answer, _ = split("x\n</think>\n3 < 4 and <b>", chunk=2)
    assert answer == "3 < 4 and <b>"


def test_thinking_ids_resume_before_a_forced_end():
    _, _, s = split("347*2\n7*2=1\n</think>\nThe answer is 694.")
    assert s.thinking_ids == tuple(ord(c) for c in "347*2\n7*2=1")
    _, _, open_chain = split("1+1=2\n2+2")
    assert open_chain.thinking_ids == tuple(ord(c) for c in "1+1=2\n2+2")
