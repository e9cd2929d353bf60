"""A history entry: a single-photo assessment or a visit, read as one result.

The history chart, the side-by-side comparison and the doctor's report all show entries. A visit's result
combines its photos: the hair density is the mean of the photos' readings, with the mean of their interval
bounds (the photos share the model's errors, so the interval does not narrow) and the smallest detectable
change of a mean of n photos, SDC / sqrt(n) (re-taking each photo moves it independently). Its label is the
most serious finding, with the region where it was seen: for an ordinal task the highest stage, for the
scalp condition any condition before "healthy"; a confident finding before an unsure one of the same rank,
then the more confident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scalpcheck.density import Reading
from scalpcheck.i18n import N_
from scalpcheck.tasks import Task
from scalpcheck.web.models import Assessment, Visit, reading_dict
from scalpcheck.web.trend import HEALTHY

REGIONS = (N_("crown"), N_("front"), N_("left"), N_("right"), N_("other"))
MAX_VISIT_PHOTOS = 4


@dataclass(frozen=True)
class Entry:
    kind: str  # "assessment" or "visit"
    id: int
    task: str
    created_at: datetime
    label: str
    display_name: str
    confidence: float
    low_confidence: bool
    reading: Reading | None
    density_sdc: float | None  # the smallest detectable change of this entry's density
    region: str | None  # where the finding was seen (a visit's photo's region)
    photos: tuple[Assessment, ...]
    model_version: str
    synthetic_data: bool
    finding_id: int  # the assessment whose result this is: itself, or a visit's most serious photo

    @property
    def ref(self) -> str:
        """How a page names the entry: "a12" for assessment 12, "v3" for visit 3."""
        return f"{self.kind[0]}{self.id}"

    @property
    def density(self) -> float | None:
        return None if self.reading is None else self.reading.estimate

    def result_dict(self, measures_density: bool) -> dict[str, Any]:
        """A visit's `result` in the API."""
        return {
            "label": self.label,
            "display_name": self.display_name,
            "confidence": self.confidence,
            "low_confidence": self.low_confidence,
            "region": self.region,
            "assessment_id": self.finding_id,
            "photos": len(self.photos),
            **({"density": reading_dict(self.reading)} if measures_density else {}),
            "smallest_detectable_change": self.density_sdc,
        }


def assessment_entry(row: Assessment) -> Entry:
    sdc = row.density_sdc if row.reading is not None else None
    return _entry("assessment", row, row, (row,), row.reading, sdc, row.synthetic_data)


def visit_entry(task: Task, visit: Visit) -> Entry:
    """The visit's combined result (see the module's docstring); a visit always has a photo."""
    photos = tuple(visit.photos)
    finding = max(photos, key=lambda p: (_rank(task, p.label), not p.low_confidence, p.confidence))
    readings = [p.reading for p in photos if p.reading is not None]
    reading = sdc = None
    if readings:
        n = len(readings)
        reading = Reading(
            sum(r.estimate for r in readings) / n,
            sum(r.low for r in readings) / n,
            sum(r.high for r in readings) / n,
        )
        sdcs = [p.density_sdc for p in photos if p.reading is not None and p.density_sdc is not None]
        sdc = max(sdcs) / math.sqrt(n) if sdcs else None
    synthetic = any(p.synthetic_data for p in photos)
    return _entry("visit", visit, finding, photos, reading, sdc, synthetic)


def _entry(
    kind: str,
    source: Assessment | Visit,
    finding: Assessment,
    photos: tuple[Assessment, ...],
    reading: Reading | None,
    sdc: float | None,
    synthetic_data: bool,
) -> Entry:
    """The entry of `source` whose result is the photo `finding`."""
    return Entry(
        kind=kind,
        id=source.id,
        task=source.task,
        created_at=source.created_at,
        label=finding.label,
        display_name=finding.display_name,
        confidence=finding.confidence,
        low_confidence=finding.low_confidence,
        reading=reading,
        density_sdc=sdc,
        region=finding.region,
        photos=photos,
        model_version=finding.model_version,
        synthetic_data=synthetic_data,
        finding_id=finding.id,
    )


def _rank(task: Task, label: str) -> int:
    if task.ordinal:
        return task.labels.index(label) if label in task.labels else 0
    return 0 if label == HEALTHY else 1


def paired_photos(first: Entry, second: Entry) -> list[tuple[Assessment | None, Assessment | None]]:
    """The two entries' photos side by side: the same region next to the same region, the rest in order."""
    left, right = list(first.photos), list(second.photos)
    pairs: list[tuple[Assessment | None, Assessment | None]] = []
    for photo in list(left):
        match = next((p for p in right if photo.region is not None and p.region == photo.region), None)
        if match is not None:
            pairs.append((photo, match))
            left.remove(photo)
            right.remove(match)
    for i in range(max(len(left), len(right))):
        pairs.append((left[i] if i < len(left) else None, right[i] if i < len(right) else None))
    return pairs
