"""Fetching a post's media by URL, safely (``bastion scan --fetch-media``; off by default).

A URL from a post is attacker-controlled, so every fetch is guarded:

* **SSRF**: the host is resolved once and every address must be public (``ipaddress.is_global``): loopback,
  private, link-local (cloud metadata at 169.254.169.254), multicast and reserved ranges are refused unless
  ``allow_private`` is set (tests, an internal media CDN). The connection goes to the address that was
  checked (the ``Host`` header and TLS SNI carry the name), so a second DNS answer cannot redirect it.
  Redirects are followed by hand, at most ``max_redirects``, each one checked the same way.
* **Allow-list**: with ``allow_hosts`` set only those hosts (or their subdomains, ``.example.com``) are fetched.
* **Size and time**: a ``Content-Length`` over ``max_bytes`` is refused before reading, the body is read in
  chunks and cut off at ``max_bytes``, and the whole fetch stops at ``timeout_s``.
* **Content sniffing**: the bytes must start like an image or video container; an HTML error page or any
  other payload is refused, whatever the ``Content-Type`` says.
* **Cache**: results (hashes or the error) are kept by URL, and hashes by content SHA-256, in bounded LRU
  maps, so a re-posted URL or the same bytes under another URL are fetched or hashed once.

Failures are :class:`~bastion.media.decode.MediaError` values with a code (``blocked_host``,
``private_address``, ``bad_url``, ``unreachable``, ``timeout``, ``http_error``, ``too_large``,
``unsupported_type``), which the media detector reports as an ``unavailable`` signal with the reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from bastion.media.decode import MediaError, sniff_kind

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_hosts: tuple[str, ...] = ()  # empty: any public host
    allow_private: bool = False
    max_bytes: int = 25 * 1024 * 1024
    timeout_s: float = 10.0
    max_redirects: int = 3
    cache_entries: int = 4096


def looks_like_media(head: bytes) -> bool:
    """True when the bytes start like an image or a video container we can decode."""
    if head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return True
    return sniff_kind(head) == "video"


def _host_allowed(host: str, allow: tuple[str, ...]) -> bool:
    if not allow:
        return True
    h = host.lower().rstrip(".")
    return any(h == a.lower() or (a.startswith(".") and h.endswith(a.lower())) for a in allow)


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise MediaError("unreachable", f"cannot resolve {host}: {exc}") from None
    return sorted({str(info[4][0]) for info in infos})


class MediaFetcher:
    def __init__(self, policy: FetchPolicy = FetchPolicy(), *, resolver: Resolver = system_resolver,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy
        self.resolver = resolver
        self.transport = transport
        self._by_url: OrderedDict[str, Any] = OrderedDict()
        self._by_content: OrderedDict[str, Any] = OrderedDict()
        self.fetched = 0

    # -- the guarded GET --------------------------------------------------------------------------------
    def _target(self, url: str) -> tuple[str, str, str]:
        """(url to connect to, Host header, host name) after the scheme, allow-list and address checks."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise MediaError("bad_url", f"not a URL: {url[:200]}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MediaError("bad_url", f"only http(s) URLs are fetched: {url[:200]}")
        host = parts.hostname
        if not _host_allowed(host, self.policy.allow_hosts):
            raise MediaError("blocked_host", f"{host} is not in the media host allow-list")
        try:
            addrs = [host] if ipaddress.ip_address(host) else []
        except ValueError:
            addrs = self.resolver(host, port)
        if not addrs:
            raise MediaError("unreachable", f"{host} has no address")
        for a in addrs:
            ip = ipaddress.ip_address(a.split("%", 1)[0])
            if not (ip.is_global or self.policy.allow_private):
                raise MediaError("private_address", f"{host} resolves to a non-public address ({ip})")
        ip_text = addrs[0]
        netloc = f"[{ip_text}]" if ":" in ip_text else ip_text
        if parts.port:
            netloc += f":{parts.port}"
        pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
        host_header = host if not parts.port else f"{host}:{parts.port}"
        return pinned, host_header, host

    def fetch(self, url: str) -> bytes:
        """The bytes at ``url``, or a MediaError. One short-lived client per fetch (fetches are rare next to
        cache hits, and nothing is left open between them)."""
        with httpx.Client(transport=self.transport, follow_redirects=False, verify=True,
                          timeout=httpx.Timeout(self.policy.timeout_s)) as client:
            return self._fetch(client, url)

    def _fetch(self, client: httpx.Client, url: str) -> bytes:
        deadline = time.monotonic() + self.policy.timeout_s
        for _ in range(self.policy.max_redirects + 1):
            pinned, host_header, host = self._target(url)
            try:
                with client.stream("GET", pinned, headers={"Host": host_header, "Accept": "image/*,video/*"},
                                         extensions={"sni_hostname": host}) as resp:
                    if resp.status_code in (301, 302, 303, 307, 308) and resp.headers.get("location"):
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code != 200:
                        raise MediaError("http_error", f"HTTP {resp.status_code} from {host}")
                    length = resp.headers.get("content-length")
                    if length and length.isdigit() and int(length) > self.policy.max_bytes:
                        raise MediaError("too_large", f"{length} bytes > limit {self.policy.max_bytes}")
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > self.policy.max_bytes:
                            raise MediaError("too_large", f"over the {self.policy.max_bytes}-byte limit")
                        if time.monotonic() > deadline:
                            raise MediaError("timeout", f"fetch took over {self.policy.timeout_s:g} s")
                        if len(body) >= 64 and not looks_like_media(bytes(body[:64])):
                            raise MediaError("unsupported_type", "the response is not an image or video")
            except httpx.TimeoutException:
                raise MediaError("timeout", f"no answer from {host} within {self.policy.timeout_s:g} s") from None
            except httpx.HTTPError as exc:
                raise MediaError("unreachable", f"{host}: {type(exc).__name__}") from None
            if not body:
                raise MediaError("empty", "empty response")
            if not looks_like_media(bytes(body[:64])):
                raise MediaError("unsupported_type", "the response is not an image or video")
            self.fetched += 1
            return bytes(body)
        raise MediaError("http_error", f"more than {self.policy.max_redirects} redirects")

    # -- cached fetch-and-hash --------------------------------------------------------------------------
    def hashes(self, url: str, hash_fn: Callable[[bytes], Any]) -> Any:
        """``hash_fn(bytes)`` of the media at ``url`` (or the MediaError), cached by URL and by content."""
        if url in self._by_url:
            self._by_url.move_to_end(url)
            return self._by_url[url]
        try:
            data = self.fetch(url)
            digest = hashlib.sha256(data).hexdigest()
            if digest in self._by_content:
                self._by_content.move_to_end(digest)
                got = self._by_content[digest]
            else:
                try:
                    got = hash_fn(data)
                except MediaError as exc:
                    got = exc
                _put(self._by_content, digest, got, self.policy.cache_entries)
        except MediaError as exc:
            got = exc
        _put(self._by_url, url, got, self.policy.cache_entries)
        return got


def _put(cache: OrderedDict[str, Any], key: str, value: Any, cap: int) -> None:
    cache[key] = value
    if len(cache) > cap:
        cache.popitem(last=False)
