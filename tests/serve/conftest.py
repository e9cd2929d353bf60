"""The trained bundle for the serving tests.

`random_models` (tests/conftest.py) publishes bundles that run every serving code path but predict nothing
and accept every photo. `trained_scalp_bundle` is the shared small model really trained on phantoms (slow to
make: tests using it are marked slow); refusing photos that are not scalps and where the heat map points are
tested on it. Photos come from tests/helpers/photos.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def trained_scalp_bundle(trained_bundles) -> Path:
    """The shared small scalp model trained on phantoms (tests/conftest.py)."""
    return trained_bundles["scalp"]
