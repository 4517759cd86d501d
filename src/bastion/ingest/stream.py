"""Stream JSON values from a file holding JSON Lines, one JSON array, or concatenated values.

Memory stays bounded by the largest single value, never the file: the file is read in chunks and values are
decoded one at a time with :meth:`json.JSONDecoder.raw_decode`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bastion.errors import RecordError
from bastion.ingest.base import MAX_LINE_BYTES

CHUNK = 1 << 16
_WS = " \t\r\n"


def iter_json_values(path: Path) -> Iterator[tuple[int, Any, Exception | None]]:
    """Yield ``(line, value, None)`` for each value, or ``(line, None, error)`` and resynchronise."""
    decoder = json.JSONDecoder()
    with path.open("rb") as fh:
        buf = ""
        line = 1
        in_array = False
        started = False
        eof = False
        pending = b""
        while True:
            # keep at least one whole value in the buffer (bounded by MAX_LINE_BYTES)
            while not eof and len(buf) < CHUNK:
                raw = fh.read(CHUNK)
                if not raw:
                    eof = True
                    break
                data = pending + raw
                try:
                    buf += data.decode("utf-8")
                    pending = b""
                except UnicodeDecodeError as exc:
                    if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
                        buf += data[: exc.start].decode("utf-8")
                        pending = data[exc.start:]
                    else:
                        buf += data.decode("utf-8", "replace")
                        pending = b""
            i = 0
            while i < len(buf) and (buf[i] in _WS or (in_array and buf[i] == ",")):
                if buf[i] == "\n":
                    line += 1
                i += 1
            buf = buf[i:]
            if not started and buf.startswith("["):
                in_array, started, buf = True, True, buf[1:]
                continue
            started = True
            if in_array and buf.startswith("]"):
                return
            if not buf:
                if eof:
                    return
                continue
            try:
                value, end = decoder.raw_decode(buf)
            except json.JSONDecodeError as exc:
                if not eof and len(buf) < MAX_LINE_BYTES:
                    more = fh.read(CHUNK * 4)
                    if more:
                        buf += more.decode("utf-8", "replace")
                        continue
                    eof = True
                    continue
                # skip to the next line and carry on
                nl = buf.find("\n")
                yield line, None, RecordError(f"bad JSON: {exc.msg}")
                if nl < 0:
                    return
                buf = buf[nl:]
                continue
            if "\ufffd" in buf[:end]:
                yield line, None, RecordError("invalid UTF-8")
            else:
                yield line, value, None
            line += buf.count("\n", 0, end)
            buf = buf[end:]
