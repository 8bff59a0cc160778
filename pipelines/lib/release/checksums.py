"""SHA-256 of every file of a release, in the `sha256sum` format so that anyone can check it:
`sha256sum -c SHA256SUMS` in the release folder."""

from __future__ import annotations

from pathlib import Path

from pipelines.lib.landing import sha256_of

SUMS_FILE = "SHA256SUMS"


def write_sums(folder: Path, known: dict[str, str] | None = None) -> Path:
    """Checksum every file in `folder` (not itself), sorted by name. `known`: digests already
    taken of files not written since ({name: hex}), not read again (a year's release is about
    500 MB; `verify_sums` reads every file back before the release is published)."""
    known = known or {}
    lines = [f"{known.get(p.name) or sha256_of(p)}  {p.name}\n"
             for p in sorted(folder.iterdir()) if p.is_file() and p.name != SUMS_FILE]
    path = folder / SUMS_FILE
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_sums(folder: Path) -> dict[str, str]:
    text = (folder / SUMS_FILE).read_text(encoding="utf-8")
    return {name: digest for digest, name in (line.split("  ", 1) for line in text.splitlines() if line)}


def verify_sums(folder: Path) -> list[str]:
    """Names whose content does not match, or that are missing or unlisted."""
    listed = read_sums(folder)
    present = {p.name for p in folder.iterdir() if p.is_file() and p.name != SUMS_FILE}
    problems = sorted(present ^ set(listed))
    problems += [n for n in sorted(present & set(listed)) if sha256_of(folder / n) != listed[n]]
    return problems
