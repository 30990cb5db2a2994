"""LLM failures, named by what the user can do about them."""

from __future__ import annotations


class LLMError(Exception):
    """Base of every LLM failure; ``str()`` is a message fit for the user."""


class LLMNotConfigured(LLMError):
    """No model endpoint is configured."""


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or kept failing (after retries).

    ``status_code`` is set when the endpoint answered with 429 or a 5xx, so a
    caller can tell "overloaded" from "not there at all".
    """

    def __init__(
        self, message: str, status_code: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        """Seconds the endpoint asked to wait (``Retry-After`` on 429 and 503)."""


class LLMTimeout(LLMUnavailable):
    """The call did not complete within its timeout."""


class LLMRequestRejected(LLMError):
    """The endpoint rejected the request (a 4xx other than 429)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LLMParameterUnsupported(LLMRequestRejected):
    """The endpoint answered that a parameter of the request is unsupported
    (400, 422, 500 or 501 naming it); ``parameters`` are the ones it named.
    Not retried: the same request would be refused again."""

    def __init__(self, message: str, status_code: int, parameters: tuple[str, ...]) -> None:
        super().__init__(message, status_code)
        self.parameters = parameters


class LLMStreamBroken(LLMError):
    """The stream broke after output had started; the call is not retried
    because output already reached the user."""


class LLMOutputInvalid(LLMError):
    """Structured output did not validate, even after a repair attempt."""
