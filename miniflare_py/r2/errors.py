"""R2's errors as a worker sees them: `put: <R2's message> (<code>)`, workerd's wording.

workerd turns an error answer of R2 into a JavaScript `Error` whose message is the operation,
R2's message and its numeric code; `R2Error` carries the same text and the parts as attributes.
Argument mistakes that workerd itself catches before calling R2 are `TypeError`/`ValueError`
(JavaScript's TypeError and RangeError) with workerd's texts.
"""

from __future__ import annotations

__all__ = [
    "BAD_DIGEST",
    "BAD_UPLOAD",
    "ENTITY_TOO_LARGE",
    "ENTITY_TOO_SMALL",
    "INTERNAL_ERROR",
    "INVALID_MAX_KEYS",
    "INVALID_OBJECT_NAME",
    "INVALID_PART",
    "INVALID_RANGE",
    "METADATA_TOO_LARGE",
    "NO_SUCH_UPLOAD",
    "PRECONDITION_FAILED",
    "R2Error",
]

# (code, message) of each R2 error pyflare can meet locally.
INTERNAL_ERROR = (10001, "We encountered an internal error. Please try again.")
ENTITY_TOO_LARGE = (100100, "Your proposed upload exceeds the maximum allowed object size.")
ENTITY_TOO_SMALL = (
    10011,
    "Your proposed upload is smaller than the minimum allowed object size.",
)
METADATA_TOO_LARGE = (
    10012,
    "Your metadata headers exceed the maximum allowed metadata size.",
)
INVALID_OBJECT_NAME = (10020, "The specified object name is not valid.")
INVALID_MAX_KEYS = (10022, "MaxKeys params must be positive integer <= 1000.")
NO_SUCH_UPLOAD = (10024, "The specified multipart upload does not exist.")
INVALID_PART = (10025, "One or more of the specified parts could not be found.")
PRECONDITION_FAILED = (
    10031,
    "At least one of the pre-conditions you specified did not hold.",
)
BAD_DIGEST = (10037, "")  # the message names the algorithm and both digests
INVALID_RANGE = (10039, "The requested range is not satisfiable")
BAD_UPLOAD = (10048, "There was a problem with the multipart upload.")


class R2Error(Exception):
    """An error answer of R2: `str(error)` is `"<action>: <message> (<code>)"`, as workerd
    throws it; `.action`, `.code` and `.r2_message` hold the parts."""

    def __init__(self, action: str, error: tuple[int, str], message: str | None = None) -> None:
        self.action = action
        self.code = error[0]
        self.r2_message = message if message is not None else error[1]
        super().__init__(f"{action}: {self.r2_message} ({self.code})")

    @classmethod
    def bad_digest(cls, action: str, algorithm: str, provided: bytes, actual: bytes) -> R2Error:
        """A checksum given with `put` that the body does not match."""
        text = (
            f"The {algorithm} checksum you specified did not match what we received.\n"
            f"You provided a {algorithm} checksum with value: {provided.hex()}\n"
            f"Actual {algorithm} was: {actual.hex()}"
        )
        return cls(action, BAD_DIGEST, text)
