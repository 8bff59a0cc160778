"""Revision flags: which rows and cells of a table changed since the previous release.

Compared on the published values and their status columns (a cell that went from suppressed to
a figure is revised). A row that is new in this release is not "revised": it is new.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.lib.release.suppression import STATUS_SUFFIX

REVISED = "revised"
REVISED_COLUMNS = "revised_columns"
FLAG_COLUMNS = (REVISED, REVISED_COLUMNS)
_MISSING = "\x00"


def content(frame: pd.DataFrame) -> pd.DataFrame:
    """A published table without its revision flags: what two releases are compared on."""
    return frame.drop(columns=[c for c in FLAG_COLUMNS if c in frame.columns])


def _text(series: pd.Series) -> pd.Series:
    """Values as exact text (floats round-trip), missing as a sentinel: comparable across dtypes."""
    return series.astype("string").fillna(_MISSING).reset_index(drop=True)


def _differs(new: pd.Series, old: pd.Series) -> pd.Series:
    """Cell by cell, whether the value changed; missing equals missing. Columns of one nullable
    dtype (the usual case: both sides come from tables.to_frame) are compared as they are: as
    text, a year's tables took 4 s of each release; other columns are compared as exact text."""
    new, old = new.reset_index(drop=True), old.reset_index(drop=True)
    if new.dtype != old.dtype or new.dtype == object:
        return _text(new) != _text(old)
    both_missing = new.isna() & old.isna()
    return ~((new == old).fillna(False).astype(bool) | both_missing)


def flag(new: pd.DataFrame, old: pd.DataFrame | None, key: list[str]) -> pd.DataFrame:
    """`new` with `revised` (boolean) and `revised_columns` (`;`-separated names) appended."""
    new = content(new).reset_index(drop=True)
    revised = pd.DataFrame(index=new.index)
    if old is not None and all(k in old.columns for k in key):
        names = [c for c in new.columns if c not in key and c in old.columns and c not in FLAG_COLUMNS]
        current = new.set_index(key)
        previous = old.drop_duplicates(key).set_index(key).reindex(current.index)
        existed = pd.Series(current.index.isin(old.set_index(key).index))
        for column in names:
            base = column.removesuffix(STATUS_SUFFIX)
            differs = _differs(current[column], previous[column]) & existed
            revised[base] = revised[base] | differs if base in revised else differs
    lists = revised_columns(revised.to_numpy(dtype=bool), list(revised.columns))
    new[REVISED] = pd.array([bool(x) for x in lists], dtype="boolean")
    new[REVISED_COLUMNS] = pd.array(lists, dtype="string")
    return new


def revised_columns(differs: np.ndarray, names: list[str]) -> list[str]:
    """Each row's revised columns (`differs`: rows × `names`) joined by `;`, "" when none: only
    the revised rows are visited, as they are few beside a year of unchanged ones."""
    lists = [""] * differs.shape[0]
    for row in np.flatnonzero(differs.any(axis=1)):
        lists[row] = ";".join(name for name, hit in zip(names, differs[row]) if hit)
    return lists
