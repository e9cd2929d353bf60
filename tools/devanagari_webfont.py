"""Writes static/fonts/noto-sans-devanagari.woff: the Devanagari of Noto Sans Devanagari for Hindi pages.

Run by `make webfont` (the output is committed). A phone has a Devanagari font of its own, which app.css
names first (local()); this is for a system without one (a bare Linux desktop, the test browser). One
weight of the variable font, the Devanagari block with every layout feature (its conjuncts need them).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontpkg_noto_sans_devanagari import ROOT
from fontTools import subset
from fontTools.ttLib import TTFont
from fontTools.varLib import instancer

OUT = Path(__file__).resolve().parents[1] / "src" / "scalpcheck" / "web" / "static" / "fonts"
# The Devanagari block, the zero-width (non-)joiners, the dotted circle, the danda and the rupee sign.
CODEPOINTS = [*range(0x0900, 0x0980), 0x200C, 0x200D, 0x25CC, 0x20B9]


def main() -> int:
    source = next((ROOT / "files").glob("*.ttf"))
    font = instancer.instantiateVariableFont(TTFont(str(source)), {"wght": 400, "wdth": 100})
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.flavor = "woff"
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=CODEPOINTS)
    subsetter.subset(font)
    OUT.mkdir(parents=True, exist_ok=True)
    font.flavor = "woff"
    font.save(str(OUT / "noto-sans-devanagari.woff"))
    (OUT / "OFL.txt").write_text((ROOT / "LICENSE").read_text("utf-8"), "utf-8")
    print(f"wrote {OUT / 'noto-sans-devanagari.woff'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
