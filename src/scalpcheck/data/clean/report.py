"""What `scalpcheck clean` found: findings, duplicate groups, and their text and JSON forms."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Every finding kind, in the order the report lists them (the first six judge a file on its own).
KINDS = (
    "unreadable",
    "truncated",
    "too_small",
    "too_blurry",
    "too_dark",
    "too_bright",
    "exact_duplicate",
    "near_duplicate",
    "label_conflict",
    "split_leak",
)


@dataclass(frozen=True)
class Finding:
    kind: str  # one of KINDS
    path: str  # relative to the dataset root, forward slashes
    reason: str  # in plain words
    sha256: str  # of the file as judged: --apply moves it only if it is still the same
    group: int | None = None  # duplicate group, for the four duplicate kinds
    kept: str | None = None  # the copy kept from that group; None when every copy goes (label conflict)


@dataclass(frozen=True)
class Member:
    path: str
    label: str
    split: str | None


@dataclass(frozen=True)
class DuplicateGroup:
    id: int
    members: tuple[Member, ...]  # the kept copy first
    kept: str | None  # None for a label conflict
    identical: bool  # every copy has the same bytes


@dataclass
class CleanReport:
    root: Path
    layout: str
    n_files: int  # image files judged
    findings: list[Finding]  # at most one per file
    groups: list[DuplicateGroup] = field(default_factory=list)

    @property
    def offenders(self) -> list[str]:
        return [f.path for f in self.findings]

    @property
    def n_kept(self) -> int:
        return self.n_files - len(self.findings)

    def counts(self) -> dict[str, int]:
        found = Counter(f.kind for f in self.findings)
        return {kind: found.get(kind, 0) for kind in KINDS}

    def to_dict(self) -> dict:
        return {
            "root": str(self.root),
            "layout": self.layout,
            "n_files": self.n_files,
            "n_flagged": len(self.findings),
            "n_kept": self.n_kept,
            "counts": self.counts(),
            "findings": [asdict(f) for f in self.findings],
            "groups": [
                {
                    "id": g.id,
                    "kept": g.kept,
                    "identical": g.identical,
                    "members": [asdict(m) for m in g.members],
                }
                for g in self.groups
            ],
        }

    def to_text(self) -> str:
        lines = [f"{self.root} ({self.layout}): {self.n_files} images"]
        if not self.findings:
            lines.append("No problems found.")
            return "\n".join(lines)
        lines.append(f"{len(self.findings)} to set aside, {self.n_kept} to keep.")
        width = max(len(f.path) for f in self.findings)
        for kind, n in self.counts().items():
            if n:
                lines += ["", f"{kind} ({n})"]
                lines += [f"  {f.path.ljust(width)}  {f.reason}" for f in self.findings if f.kind == kind]
        return "\n".join(lines)
