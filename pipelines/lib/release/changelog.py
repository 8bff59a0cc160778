"""CHANGELOG.md of a release: what changed since the previous one, newest first, in full."""

from __future__ import annotations

from dataclasses import dataclass, field

LEVEL_WORDS = {
    "major": "the tables or their columns changed (bảng hoặc cột thay đổi)",
    "minor": "a new period is covered or a month is closed (bổ sung kỳ mới hoặc khóa sổ tháng)",
    "patch": "a correction of figures or documentation already published (đính chính)",
}


@dataclass
class TableChange:
    name: str
    added_rows: int = 0
    removed_rows: int = 0
    revised_rows: int = 0
    revised_columns: set[str] = field(default_factory=set)
    added_columns: list[str] = field(default_factory=list)
    removed_columns: list[str] = field(default_factory=list)
    new_table: bool = False
    dropped_table: bool = False

    def lines(self) -> list[str]:
        if self.new_table:
            return [f"- `{self.name}`: new table, {self.added_rows} rows."]
        if self.dropped_table:
            return [f"- `{self.name}`: no longer published."]
        parts = []
        if self.added_rows:
            parts.append(f"{self.added_rows} rows added")
        if self.removed_rows:
            parts.append(f"{self.removed_rows} rows removed")
        if self.revised_rows:
            parts.append(f"{self.revised_rows} rows revised ({', '.join(sorted(self.revised_columns))})")
        if self.added_columns:
            parts.append(f"columns added: {', '.join(self.added_columns)}")
        if self.removed_columns:
            parts.append(f"columns removed: {', '.join(self.removed_columns)}")
        return [f"- `{self.name}`: {'; '.join(parts)}."] if parts else []


def entry(version: str, level: str, published: str, period: tuple[str, str], data_as_of: str, changes: list[TableChange], docs_changed: bool,
          closes: str | None = None) -> str:
    lines = [
        f"## {version} — {published}",
        "",
        f"{level.capitalize()} release: {LEVEL_WORDS[level]}." if changes and not all(c.new_table for c in changes)
        else "First release (bản phát hành đầu tiên).",
        f"Period covered {period[0]} … {period[1]}; sources read up to {data_as_of}.",
        "",
    ]
    if closes:
        lines[4:4] = [f"Monthly close of {closes} (khóa sổ tháng): the month's figures are final; a later change "
                      "to them comes as a correction (patch release)."]
    body = [line for change in changes for line in change.lines()]
    if docs_changed:
        body.append("- Table or column descriptions changed.")
    lines += body
    return "\n".join(lines) + "\n"


def changelog(new_entry: str, previous: str | None) -> str:
    header = "# Changelog — vn-egov-kpi open data\n\nNewest first. Versions: major = schema, minor = new period, patch = correction.\n\n"
    history = previous.split("\n\n", 2)[2] if previous and previous.startswith("# Changelog") else (previous or "")
    return header + new_entry + ("\n" + history if history else "")
