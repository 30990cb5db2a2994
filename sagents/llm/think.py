"""Reasoning that arrives inside the answer text, as ``<think>…</think>``.

Reasoning models served without a reasoning parser (Qwen3 or DeepSeek-R1 on
Ollama's OpenAI endpoint, https://github.com/bold84/cot_proxy/issues/3) put
their thinking at the start of the content. Sage shows it as reasoning and
never as answer text, so it is neither streamed as the answer nor stored in
the assistant message.

Streaming-safe: a tag can be cut anywhere by the network or the tokenizer
(``"<thi"`` + ``"nk>"``), so text that could still become a tag is held back
until the next piece decides it. Only a block at the very start of the
content counts (after whitespace): ``<think>`` later in an answer is text the
model wrote, for instance about HTML.
"""

from __future__ import annotations

from sagents.llm.types import LLMChunk, ReasoningDelta, TextDelta

OPEN = "<think>"
CLOSE = "</think>"


class ThinkSplitter:
    """Turns one stream's ``TextDelta`` parts into reasoning and text.

    ``done`` turns true once the content is known to be plain answer text
    (no block at the start, or the block has closed); the caller can then
    stop passing parts through the splitter.
    """

    __slots__ = ("_buffer", "_state", "done")

    def __init__(self) -> None:
        self._state = "start"  # start → thinking → after → text
        self._buffer = ""
        self.done = False

    def split(self, parts: list[LLMChunk]) -> list[LLMChunk]:
        out: list[LLMChunk] = []
        for part in parts:
            if type(part) is TextDelta and not self.done:
                self._feed(part.text, out)
            else:
                out.append(part)
        return out

    def flush(self) -> list[LLMChunk]:
        """What is still held back when the stream ends."""
        held, self._buffer = self._buffer, ""
        state, self._state, self.done = self._state, "text", True
        if not held:
            return []
        if state == "thinking":  # an unclosed block is still reasoning
            return [ReasoningDelta(held)]
        return [TextDelta(held)]

    def _feed(self, text: str, out: list[LLMChunk]) -> None:
        buffer = self._buffer + text
        self._buffer = ""
        if self._state == "start":
            stripped = buffer.lstrip()
            if not stripped or OPEN.startswith(stripped):
                self._buffer = buffer  # still undecided
                return
            if not stripped.startswith(OPEN):
                self._text(buffer, out)
                return
            self._state = "thinking"
            buffer = stripped[len(OPEN) :]
        if self._state == "thinking":
            end = buffer.find(CLOSE)
            if end < 0:
                keep = _partial_suffix(buffer, CLOSE)
                if len(buffer) > keep:
                    out.append(ReasoningDelta(buffer[: len(buffer) - keep]))
                self._buffer = buffer[len(buffer) - keep :]
                return
            if end:
                out.append(ReasoningDelta(buffer[:end]))
            self._state = "after"
            buffer = buffer[end + len(CLOSE) :]
        # "after": the blank lines between the block and the answer are dropped.
        stripped = buffer.lstrip()
        if not stripped:
            return
        self._text(stripped, out)

    def _text(self, text: str, out: list[LLMChunk]) -> None:
        self._state, self.done = "text", True
        out.append(TextDelta(text))


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of ``text`` that begins ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
