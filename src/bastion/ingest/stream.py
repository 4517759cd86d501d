"""Stream JSON values from a file: JSON Lines, one JSON array, or concatenated (pretty-printed) values.

Nothing bad in one value loses another, and memory stays bounded whatever the input:

* **JSON Lines** (the first line is a whole object or array on its own): each line is one value, read at most
  :data:`MAX_LINE_BYTES` at a time (a longer line is quarantined and skipped unread); a line holding an array
  yields its elements (a saved page of statuses). A bad line is one quarantined entry; the next line goes on.
* **Documents** (pretty-printed values, or one array spanning many lines): a structural scanner follows
  strings, escapes and brackets across 64 KiB chunks and hands each complete top-level value (the elements, for
  a top-level array) to the parser. A value breaks where JSON cannot go on: a raw newline inside a string, an
  object or array opening where no value may stand, or the end of the file. The broken value is quarantined
  once and reading resumes at the next line that opens an object or array.

Parsing is orjson's, on bytes: invalid UTF-8 is reported as such, a real U+FFFD is kept, a multibyte character
split between chunks is never seen as split, and nesting deeper than :data:`MAX_DEPTH` is quarantined rather
than recursed into.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bastion.errors import RecordError
from bastion.ingest.base import MAX_LINE_BYTES, iter_lines, parse_json_line

CHUNK = 1 << 16
#: orjson's own limit; a value nested deeper is quarantined by the scanner without being parsed.
MAX_DEPTH = 1024
_HEAD_LINES = 8

_OUTSIDE = re.compile(rb'[\[\]{}",:\n]')
_INSIDE = re.compile(rb'["\\\n]')
_SIGNIFICANT = re.compile(rb"[^ \t\r\n,]")

Value = tuple[int, Any, Exception | None]


def iter_json_values(path: Path) -> Iterator[Value]:
    """Yield ``(line, value, None)`` for each value, or ``(line, None, error)`` and resynchronise."""
    if is_json_lines(path):
        yield from _lines(path)
    else:
        yield from _document(path)


def _whole(line: bytes) -> bool:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return isinstance(value, dict | list) and bool(value)


def is_json_lines(path: Path) -> bool:
    """True when the file reads as one value per line.

    It does when its first line is a whole object or array; when the first line opens a document (``[`` or ``{``
    left open, as a pretty-printer writes) it does not; when the first line is broken, the next few decide.
    """
    head = []
    for _, line in iter_lines(path):
        head.append(line)
        if len(head) == _HEAD_LINES:
            break
    if not head:
        return True
    if len(head[0]) <= MAX_LINE_BYTES and _whole(head[0]):
        return True
    first = head[0].strip()
    if first[:1] in (b"[", b"{") and (len(first) == 1 or first[1:].lstrip()[:1] in (b"{", b"[", b'"')):
        return False
    return any(len(line) <= MAX_LINE_BYTES and _whole(line) for line in head[1:])


def _parse(line: int, raw: bytes) -> Value:
    try:
        return line, parse_json_line(raw), None
    except RecordError as exc:
        return line, None, exc
    except orjson.JSONDecodeError as exc:
        return line, None, RecordError(f"bad JSON: {exc}")


def _lines(path: Path) -> Iterator[Value]:
    for n, line in iter_lines(path):
        _, value, error = _parse(n, line)
        if error is not None:
            yield n, None, error
        elif isinstance(value, list):
            for element in value:
                yield n, element, None
        else:
            yield n, value, None


class _Scanner:
    """The state of the document scanner between chunks."""

    def __init__(self) -> None:
        self.line = 1
        self.in_array = False  # inside a top-level array whose elements are the values
        self.skipping = False  # after a break: looking for a line that opens an object or array
        self.line_start = True  # (while skipping) at the start of a line, before any non-blank byte
        self.value = bytearray()  # the open value's bytes, up to the limit
        self.value_line = 0
        self.oversize = False
        self.stack = bytearray()  # the open brackets
        self.depth = 0
        self.in_string = False
        self.escape = False
        self.last = 0  # the last structural byte outside strings
        self.indent = 0  # the open value's first line's indentation
        self.indented = False  # whether a later line of the open value is indented deeper (pretty-printed)
        self.resume_indent = 1 << 30  # while skipping: resume only at an opening this far indented or less
        self.carry = 0  # indentation of the previous chunk's last line so far (-1: not blank)

    def open(self, at: int, indent: int = 0) -> None:
        self.indent = indent
        self.indented = False
        self.value = bytearray()
        self.value_line = at
        self.oversize = False
        self.stack = bytearray()
        self.depth = 0
        self.in_string = self.escape = False
        self.last = 0

    def keep(self, data: bytes) -> None:
        if self.oversize:
            return
        if len(self.value) + len(data) > MAX_LINE_BYTES:
            self.oversize = True
            self.value = bytearray()
        else:
            self.value += data

    def close(self) -> Value:
        line = self.value_line
        raw = bytes(self.value)
        oversize = self.oversize
        self.open(0)
        if oversize:
            return line, None, RecordError(f"record over the {MAX_LINE_BYTES}-byte limit")
        return _parse(line, raw)

    def broken(self, reason: str) -> Value:
        line = self.value_line
        self.resume_indent = self.indent if self.indented else 1 << 30
        self.open(0)
        return line, None, RecordError(f"bad JSON: {reason}")


def _indent(chunk: bytes, j: int, carry: int) -> int:
    """Indentation of position ``j`` when only blanks precede it on its line, else -1."""
    nl = chunk.rfind(b"\n", 0, j)
    prefix = chunk[nl + 1:j]
    if prefix.strip(b" \t\r"):
        return -1
    if nl >= 0:
        return len(prefix)
    return -1 if carry < 0 else carry + len(prefix)


def _tail(chunk: bytes, carry: int) -> int:
    return _indent(chunk, len(chunk), carry)


def _document(path: Path) -> Iterator[Value]:
    s = _Scanner()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield from _scan(s, chunk)
            s.carry = _tail(chunk, s.carry)
    if s.value_line and not s.skipping:
        yield s.broken("the file ends inside a record")


def _scan(s: _Scanner, chunk: bytes) -> Iterator[Value]:
    i, n = 0, len(chunk)
    while i < n:
        if s.skipping:
            # find a line whose first non-blank byte opens an object or array
            if s.line_start:
                while i < n and chunk[i] in b" \t\r":
                    i += 1
                if i == n:
                    break
                c = chunk[i]
                if c in b"{[" and _indent(chunk, i, s.carry) <= s.resume_indent:
                    s.skipping = False
                    if c == ord("["):
                        s.in_array = False  # a line opening with "[" after a break starts a new array
                    continue
                if c == 10:
                    s.line += 1
                    i += 1
                    continue
                s.line_start = False
            nl = chunk.find(b"\n", i)
            if nl < 0:
                i = n
                break
            s.line += 1
            s.line_start = True
            i = nl + 1
            continue
        if not s.value_line:
            # between values: skip blanks and commas, then open the next value
            m = _SIGNIFICANT.search(chunk, i)
            end = m.start() if m else n
            s.line += chunk.count(b"\n", i, end)
            i = end
            if m is None:
                break
            c = chunk[i]
            if c == ord("]") and s.in_array:
                s.in_array = False
                i += 1
                continue
            if c == ord("[") and not s.in_array:
                s.in_array = True
                i += 1
                continue
            if c in b"{[":
                where = _indent(chunk, i, s.carry)
                s.open(s.line, where if where >= 0 else 1 << 30)
                continue
            yield s.line, None, RecordError("expected a JSON object")
            s.skipping, s.line_start = True, False
            continue
        if s.in_string:
            if s.escape:
                if chunk[i] == 10:  # a record cut right after a backslash: the newline is no escape
                    yield s.broken("a string runs past the end of its line")
                    s.line += 1
                    s.skipping, s.line_start = True, True
                    i += 1
                    continue
                s.keep(chunk[i:i + 1])
                s.escape = False
                i += 1
                continue
            m = _INSIDE.search(chunk, i)
            if m is None:
                s.keep(chunk[i:])
                i = n
                break
            j = m.start()
            s.keep(chunk[i:j + 1])
            i = j + 1
            c = chunk[j]
            if c == ord("\\"):
                s.escape = True
            elif c == ord('"'):
                s.in_string = False
                s.last = c
            else:  # a raw newline: the string (and the value) was cut off
                yield s.broken("a string runs past the end of its line")
                s.line += 1
                s.skipping, s.line_start = True, True
            continue
        m = _OUTSIDE.search(chunk, i)
        if m is None:
            s.keep(chunk[i:])
            i = n
            break
        j = m.start()
        c = chunk[j]
        if c in b"{[" and s.depth:
            where = _indent(chunk, j, s.carry)
            # an object or array where no value may stand, or (pretty-printed) back at the open value's own
            # indentation: the open value ended early, and this opening may start the next one
            inner = s.stack[-1]
            if ((s.indented and 0 <= where <= s.indent) or (inner == ord("{") and s.last != ord(":"))
                    or (inner == ord("[") and s.last not in (ord("["), ord(",")))):
                yield s.broken("the record is cut off")
                if where >= 0:
                    i = j
                else:
                    s.skipping, s.line_start, i = True, False, j
                continue
        s.keep(chunk[i:j + 1])
        i = j + 1
        if c == ord('"'):
            s.in_string = True
        elif c == 10:
            s.line += 1
            if not s.indented:
                k = i
                while k < n and chunk[k] in b" \t":
                    k += 1
                s.indented = k < n and k - i > s.indent and chunk[k] not in b"\r\n"
            continue
        elif c in b"{[":
            if s.depth == MAX_DEPTH:
                yield s.broken(f"nested deeper than {MAX_DEPTH} levels")
                s.resume_indent = 1 << 30
                s.skipping, s.line_start = True, False
                continue
            s.depth += 1
            s.stack.append(c)
        elif c in b"}]":
            if s.stack.pop() != c - 2:  # "{" + 2 == "}", "[" + 2 == "]"
                yield s.broken("brackets do not match")
                s.skipping, s.line_start = True, False
                continue
            s.depth -= 1
            if s.depth == 0:
                yield s.close()
                continue
        s.last = c
