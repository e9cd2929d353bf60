"""The benchmarks' baseline of an image store without encryption: scalpcheck's app whose store writes the
images as they are (bench_store). Never for serving: it exists only to measure what sealing costs."""

from __future__ import annotations

from pathlib import Path

from scalpcheck.web.storage import KEYS, PLAIN, FolderStore


class PlainStore(FolderStore):
    """FolderStore with sealing left out: the same pending folders, fsyncs and renames, plain bytes."""

    def _sealed(self, key: str, contents: dict[str, bytes]) -> dict[str, bytes]:
        return contents

    def check_keys(self) -> None:
        (self.root / KEYS).mkdir(parents=True, exist_ok=True)
        (self.root / KEYS / PLAIN).touch()  # the store then reads unsealed images as they are


def plain(store: FolderStore) -> PlainStore:
    out = PlainStore(Path(store.root), store.keys)
    out.check_keys()
    return out


def create_app(config: dict | None = None):
    """gunicorn "bench.plain_store:create_app(...)": the production app (with `config`) and a PlainStore."""
    from scalpcheck.web import create_app as scalpcheck_app
    from scalpcheck.web.extensions import APP_STATE

    app = scalpcheck_app(config)
    state = app.extensions[APP_STATE]
    state.store = plain(state.store)
    return app
