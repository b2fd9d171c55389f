"""Make Pagefind's filter index byte-identical from one build to the next.

Pagefind (1.3+) writes stable fragments and word indexes, but its filter
files list values in hash-map order, which changes on every run, and so do
their content-hashed names and the metadata file that lists them. This
rewrites just those: values sorted, files renamed after a hash of their
canonical bytes, the metadata and pagefind-entry.json updated to match.
Pagefind's own JavaScript reads the result unchanged (the tests search it).

The files are gzip'd `pagefind_dcd` + CBOR; the small codec below handles the
CBOR types Pagefind writes (integers, strings, arrays, maps, simple values).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path
from typing import Any

SIGNATURE = b"pagefind_dcd"


class Cbor:
    """A minimal CBOR (RFC 8949) decoder and shortest-form encoder."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def _take(self, size: int) -> bytes:
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def _argument(self, info: int) -> int:
        if info < 24:
            return info
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        return int.from_bytes(self._take(size), "big")

    def decode(self) -> Any:
        head = self._take(1)[0]
        major, info = head >> 5, head & 31
        if major == 7:
            return self._simple(info)
        value = self._argument(info)
        if major == 0:
            return value
        if major == 1:
            return -1 - value
        if major == 2:
            return self._take(value)
        if major == 3:
            return self._take(value).decode("utf-8")
        if major == 4:
            return [self.decode() for _ in range(value)]
        if major == 5:
            return {self.decode(): self.decode() for _ in range(value)}
        raise ValueError(f"unsupported CBOR major type {major}")

    def _simple(self, info: int) -> Any:
        if info in (20, 21, 22):
            return {20: False, 21: True, 22: None}[info]
        if info == 27:
            return struct.unpack(">d", self._take(8))[0]
        raise ValueError(f"unsupported CBOR simple value {info}")

    @staticmethod
    def _head(major: int, value: int) -> bytes:
        if value < 24:
            return bytes([major << 5 | value])
        for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
            if value < 1 << (8 * size):
                return bytes([major << 5 | info]) + value.to_bytes(size, "big")
        raise ValueError("integer too large for CBOR")

    @classmethod
    def encode(cls, value: Any) -> bytes:
        if value is None or isinstance(value, bool):
            return bytes([0xF6 if value is None else 0xF5 if value else 0xF4])
        if isinstance(value, int):
            return cls._head(0, value) if value >= 0 else cls._head(1, -1 - value)
        if isinstance(value, float):
            return b"\xfb" + struct.pack(">d", value)
        if isinstance(value, bytes):
            return cls._head(2, len(value)) + value
        if isinstance(value, str):
            raw = value.encode("utf-8")
            return cls._head(3, len(raw)) + raw
        if isinstance(value, list):
            return cls._head(4, len(value)) + b"".join(cls.encode(v) for v in value)
        if isinstance(value, dict):
            return cls._head(5, len(value)) + b"".join(cls.encode(k) + cls.encode(v) for k, v in value.items())
        raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def read(path: Path) -> Any:
    data = gzip.decompress(path.read_bytes())
    if not data.startswith(SIGNATURE):
        raise ValueError(f"{path} is not a Pagefind data file")
    return Cbor(data[len(SIGNATURE) :]).decode()


def write(folder: Path, prefix: str, suffix: str, value: Any, digits: int) -> str:
    """Write value as a Pagefind data file named after its content; return the hash part of the name."""
    payload = SIGNATURE + Cbor.encode(value)
    name = f"{prefix}{hashlib.sha256(payload).hexdigest()[:digits]}"
    (folder / f"{name}{suffix}").write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    return name


def stabilise(bundle: Path) -> None:
    """Rewrite each language's filter files and metadata in a canonical order."""
    entry_path = bundle / "pagefind-entry.json"
    entry = json.loads(entry_path.read_text(encoding="utf-8"))
    for language, info in sorted(entry["languages"].items()):
        meta_path = bundle / f"pagefind.{info['hash']}.pf_meta"
        meta = read(meta_path)
        filters = meta[3]
        renamed = []
        for name, old_hash in sorted(filters):
            old_path = bundle / "filter" / f"{old_hash}.pf_filter"
            filter_name, values = read(old_path)
            old_path.unlink()
            values = sorted(values, key=lambda item: item[0])
            renamed.append([name, write(bundle / "filter", f"{language}_", ".pf_filter", [filter_name, values], 7)])
        meta[3] = renamed
        meta_path.unlink()
        info["hash"] = write(bundle, f"pagefind.{language}_", ".pf_meta", meta, 13).removeprefix("pagefind.")
    entry_path.write_text(json.dumps(entry, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
