"""The suppression's pure solves, remembered from one release to the next.

The suppression solves the same small systems again and again: one per pattern of hidden cells
in a row (`_determined`, `_row_direction`) and one per connected component of all the
identities (`_fixed_once`, a month of rows). Within a release they were always cached; but a
day's release after a year solved every component again although only the current month's had
changed, two thirds of its 15 s. So each answer is kept under a hash of its question, and of
the numpy and scipy versions that gave it, in a file beside the releases (`remembering`); a
release keeps the answers it used, so the file follows the history, not every past one. It is
derived state: deleting it costs one full solve, never a different answer. Whole months are
remembered too (`_settled`, a month's statuses once settled): a month no day changed since is
not solved again, not even from the remembered small solves (a year's release still asked
them 150,000 times, 4 s).
"""

from __future__ import annotations

import functools
import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy

from pipelines.lib.landing import write_table_atomic

_SCHEMA = pa.schema([("key", pa.binary()), ("answer", pa.binary())])
_VERSIONS = f"numpy {np.__version__}, scipy {scipy.__version__}".encode()
_answers: dict[bytes, bytes] = {}  # by key: what the file held, and what this process found
_asked: dict[tuple, tuple[bytes, object]] = {}  # by question: its key and decoded answer, for speed
_used: set[bytes] | None = None  # the keys asked during `remembering`


def _key(name: bytes, args: tuple) -> bytes:
    digest = hashlib.sha256(_VERSIONS + name)
    for arg in args:
        part = arg if isinstance(arg, bytes) else repr(arg).encode()
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.digest()


def remembered(encode: Callable[[object], bytes], decode: Callable[[bytes], object]):
    """Answer a pure function of bytes, strings and tuples from memory when it was asked before
    (the same object each time, as functools.lru_cache would)."""
    def wrap(function):
        name = function.__qualname__.encode()

        @functools.wraps(function)
        def answer(*args):
            question = (name, *args)
            if question not in _asked:
                key = _key(name, args)
                if key not in _answers:
                    _answers[key] = encode(function(*args))
                _asked[question] = key, decode(_answers[key])
            key, value = _asked[question]
            if _used is not None:
                _used.add(key)
            return value

        return answer

    return wrap


@contextmanager
def remembering(path: Path | None) -> Iterator[None]:
    """Answers from `path` (if it exists) during the block; afterwards `path` holds the ones the
    block asked for. Without a path, answers are remembered in this process only."""
    global _used
    if path is None:
        yield
        return
    kept = pq.read_table(path) if path.exists() else _SCHEMA.empty_table()
    before = dict(zip(kept.column("key").to_pylist(), kept.column("answer").to_pylist()))
    for key, answer in before.items():
        _answers.setdefault(key, answer)
    _used = set()
    try:
        yield
        if _used != before.keys():
            keys = sorted(_used)
            write_table_atomic(pa.table([keys, [_answers[k] for k in keys]], schema=_SCHEMA), path)
    finally:
        _used = None
