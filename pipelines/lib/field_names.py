"""Field names as agencies send them: camelCase systems send the PascalCase fields of the contract."""

from __future__ import annotations

from typing import Any

# Names seen, camelCase → PascalCase: a lookup costs less than re-casing every key of every
# record. Bounded, since a broken source could send any number of distinct names.
_PASCAL: dict[str, str] = {}


def pascal(key: Any) -> Any:
    """`maHoSo` → `MaHoSo`; a PascalCase name or a non-string key unchanged."""
    if not isinstance(key, str):
        return key
    known = _PASCAL.get(key)
    if known is not None:
        return known
    name = key[:1].upper() + key[1:]
    if len(_PASCAL) < 10_000:
        _PASCAL[key] = name
    return name
