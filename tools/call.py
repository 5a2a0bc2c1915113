"""What a call produces: the prepared request (dry run) and the result of a sent call.

Both are safe to show and persist: headers, URLs and bodies are redacted by value before they
are built, so nothing here holds a secret.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tools.events import HttpAttempt
from tools.model import JSONValue


class PreparedRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    method: str
    url: str  # full URL, query included, secrets redacted
    headers: dict[str, str]  # secrets redacted
    body: JSONValue = None  # JSON value, form dict, text, or a description of multipart parts
    media_type: str | None = None
    side_effect: str = "safe"


class BinaryBody(BaseModel):
    """A non-text body kept aside: the model sees its size and type, not its bytes."""

    model_config = ConfigDict(frozen=True)

    media_type: str
    size: int
    sha256: str


class CallResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    status: int
    headers: dict[str, str]  # redacted
    body: JSONValue = None  # parsed by media type: JSON value, text, CSV rows, XML as dict
    media_type: str | None = None
    binary: BinaryBody | None = None
    size: int = 0  # bytes received
    attempts: list[HttpAttempt] = Field(default_factory=list)
    elapsed_ms: float = 0.0
    warnings: list[str] = Field(default_factory=list)  # contract drift and similar

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300
