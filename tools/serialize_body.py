"""Request bodies on the wire: JSON, form-urlencoded, multipart, text and raw bytes.

Owns turning the body argument into bytes, a Content-Type and a display form that is safe to
show (multipart parts and files described by name, filename and size, never their bytes).
Called by ``tools.serialize.build_request``; it must not send anything or attach credentials.

Decisions recorded here:
- Files are read only from ``files_root``, the directory the user allowed. A file is named by a
  path relative to it (``"report.txt"`` for a ``format: binary`` field or a raw-bytes body, or
  ``{"file": "report.txt"}``); absolute paths, ``..`` and symlinks that leave the root are
  refused, and with no root every file is refused. The model must never be able to read an
  arbitrary local file by naming it.
- Form fields follow the Encoding Object: an explicit ``style`` wins over ``contentType``
  (as OpenAPI 3.1 says); with neither, objects and arrays use ``form`` + explode. A form body's
  spaces are sent as ``%20``, which every form decoder reads.
- Multipart: primitives are plain fields, objects are JSON parts, arrays repeat the part, files
  carry a filename and the encoding's content type (else one guessed from the name).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tools.model import BodyBinding, EncodingRule, JSONObject, JSONValue, Tool
from tools.serialize import content_text, encode, form_pairs, query_name, scalar_text

if TYPE_CHECKING:
    from tools.serialize import Problems


# Uploads are read whole into memory before sending (the retry layer resends the same bytes).
MAX_FILE_BYTES = 100_000_000


@dataclass
class Body:
    content: bytes
    media_type: str
    display: JSONValue
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _File:
    name: str
    data: bytes


def build_body(
    tool: Tool,
    binding: BodyBinding,
    value: JSONValue,
    files_root: Path | None,
    problems: Problems,
) -> Body | None:
    """The body for ``value`` (None when no body is given), problems recorded, not raised."""
    if value is None:
        return None
    pointer = "/" + binding.arg
    kind = binding.kind
    if kind == "json":
        try:  # allow_nan=False: Python would write NaN/Infinity, which no JSON parser reads
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except ValueError:
            problems.add(pointer, "NaN and Infinity are not JSON values; send finite numbers")
            return None
        return Body(text.encode("utf-8"), binding.media_type, value)
    if kind == "text":
        text = value if isinstance(value, str) else scalar_text(value)
        return Body(text.encode("utf-8"), _with_charset(binding.media_type), text)
    if kind == "binary":
        found = _read_file(value, pointer, files_root, problems)
        if found is None:
            return None
        display = {"file": found.name, "size": len(found.data)}
        return Body(found.data, binding.media_type, display)
    if not isinstance(value, dict):
        problems.add(pointer, f"the {binding.media_type} body must be a JSON object")
        return None
    if kind == "form":
        return _form(binding, value)
    schema = _resolve(tool.parameters, tool.parameters.get("properties", {}).get(binding.arg))
    return _multipart(tool, binding, value, schema, files_root, problems)


def _with_charset(media_type: str) -> str:
    if media_type.lower().startswith("text/") and "charset" not in media_type.lower():
        return media_type + "; charset=utf-8"
    return media_type


# -- form-urlencoded -----------------------------------------------------------------------------
def _form(binding: BodyBinding, value: JSONObject) -> Body:
    pieces: list[str] = []
    for key, item in value.items():
        if item is None:
            continue
        rule = binding.encoding.get(key) or EncodingRule()
        name = query_name(key)
        if rule.style is None and rule.content_type and isinstance(item, dict | list):
            pieces.append(f"{name}={encode(content_text(item, rule.content_type))}")
            continue
        style = rule.style or "form"
        explode = rule.explode if rule.explode is not None else style == "form"
        pieces.extend(form_pairs(name, item, style, explode, allow_reserved=rule.allow_reserved))
    content = "&".join(pieces).encode("ascii")
    return Body(content, binding.media_type, {k: v for k, v in value.items() if v is not None})


# -- multipart -----------------------------------------------------------------------------------
def _multipart(
    tool: Tool,
    binding: BodyBinding,
    value: JSONObject,
    schema: JSONObject,
    files_root: Path | None,
    problems: Problems,
) -> Body | None:
    parts: list[_Part] = []
    display: list[JSONObject] = []
    props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    for key, item in value.items():
        if item is None:
            continue
        rule = binding.encoding.get(key) or EncodingRule()
        prop = _resolve(tool.parameters, props.get(key) if isinstance(props, dict) else None)
        items = item if isinstance(item, list) else [item]
        item_schema = (
            _resolve(tool.parameters, prop.get("items")) if isinstance(item, list) else prop
        )
        for index, one in enumerate(items):
            pointer = f"/{binding.arg}/{_escape(key)}" + (
                f"/{index}" if isinstance(item, list) else ""
            )
            part = _part(key, one, item_schema, rule, files_root, pointer, problems)
            if part is not None:
                parts.append(part)
                display.append(part.display)
    if problems.items:
        return None
    boundary = _boundary(parts)
    content = b"".join(_encode_part(boundary, p) for p in parts) + f"--{boundary}--\r\n".encode()
    media = binding.media_type.split(";", 1)[0].strip()
    header = ("Content-Type", f"{media}; boundary={boundary}")
    return Body(content, media, display, [header])


@dataclass(frozen=True)
class _Part:
    name: str
    data: bytes
    content_type: str | None
    filename: str | None
    headers: dict[str, str]
    display: JSONObject


def _part(
    name: str,
    value: JSONValue,
    schema: JSONObject,
    rule: EncodingRule,
    files_root: Path | None,
    pointer: str,
    problems: Problems,
) -> _Part | None:
    extra = {k: v for k, v in rule.headers.items() if v and k.lower() != "content-type"}
    if _is_file_ref(value) or (isinstance(value, str) and _is_binary(schema)):
        found = _read_file(value, pointer, files_root, problems)
        if found is None:
            return None
        guessed = mimetypes.guess_type(found.name)[0]
        ctype = rule.content_type or guessed or "application/octet-stream"
        ctype = ctype.split(",", 1)[0].strip()  # an Encoding Object may list several
        shown = {
            "name": name,
            "filename": found.name,
            "size": len(found.data),
            "content_type": ctype,
        }
        return _Part(name, found.data, ctype, found.name, extra, shown)
    if isinstance(value, dict | list) or (rule.content_type and "json" in rule.content_type):
        ctype = rule.content_type or "application/json"
        text = content_text(value, ctype)
        shown = {"name": name, "content_type": ctype, "value": value}
        return _Part(name, text.encode("utf-8"), ctype, None, extra, shown)
    text = scalar_text(value)
    return _Part(
        name, text.encode("utf-8"), rule.content_type, None, extra, {"name": name, "value": text}
    )


def _boundary(parts: list[_Part]) -> str:
    """A boundary derived from the content: the same body is the same bytes (cassettes replay,
    dry runs compare), and it cannot occur inside the parts (checked, re-derived if it does)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr((part.name, part.filename, part.content_type, part.headers)).encode())
        digest.update(hashlib.sha256(part.data).digest())
    for salt in range(100):
        boundary = "baton-" + hashlib.sha256(digest.digest() + bytes([salt])).hexdigest()[:32]
        if not any(boundary.encode() in p.data for p in parts):
            return boundary
    raise RuntimeError("no multipart boundary found")  # would take 100 SHA-256 collisions


def _encode_part(boundary: str, part: _Part) -> bytes:
    disposition = f'form-data; name="{_quoted(part.name)}"'
    if part.filename is not None:
        disposition += f'; filename="{_quoted(part.filename)}"'
    lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
    if part.content_type:
        lines.append(f"Content-Type: {part.content_type}")
    lines.extend(f"{k}: {v}" for k, v in part.headers.items())
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    return head + part.data + b"\r\n"


def _quoted(text: str) -> str:
    # RFC 7578 section 4.2: quotes and line breaks in names are percent-encoded (as browsers do).
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# -- schemas and files ---------------------------------------------------------------------------
def _resolve(root: JSONObject, schema: JSONValue) -> JSONObject:
    """Follow local ``#/$defs/...`` references (a few hops at most; cycles stop)."""
    for _ in range(8):
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            return schema
        schema = root.get("$defs", {}).get(ref[len("#/$defs/") :])
    return {}


def _is_binary(schema: JSONObject) -> bool:
    if schema.get("format") == "binary":
        return True
    media = schema.get("contentMediaType")
    return (
        isinstance(media, str) and "contentEncoding" not in schema and not media.startswith("text/")
    )


def _is_file_ref(value: JSONValue) -> bool:
    return isinstance(value, dict) and set(value) == {"file"} and isinstance(value["file"], str)


def _read_file(
    value: JSONValue, pointer: str, files_root: Path | None, problems: Problems
) -> _File | None:
    """Read a file named relative to ``files_root``; refuse anything outside it."""
    relative = value["file"] if _is_file_ref(value) else value
    if not isinstance(relative, str) or not relative:
        problems.add(pointer, 'expected a file path (a string or {"file": "relative/path"})')
        return None
    if files_root is None:
        problems.add(pointer, "file uploads are disabled: no directory was allowed for files")
        return None
    root = files_root.resolve()
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root):
        problems.add(pointer, f"file {relative!r} is outside the allowed directory")
        return None
    if not path.is_file():
        problems.add(pointer, f"file {relative!r} does not exist in the allowed directory")
        return None
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        problems.add(
            pointer, f"file {relative!r} is {size:,} bytes, over the {MAX_FILE_BYTES:,} limit"
        )
        return None
    return _File(path.name, path.read_bytes())
