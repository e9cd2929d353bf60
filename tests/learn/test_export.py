"""The exporter on its own: ONNX Runtime reproduces torch, and a bad export leaves nothing behind."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from scalpcheck import bundle, onnx_session, ood
from scalpcheck.card import BackboneInfo, CardMetrics, DataInfo, OodInfo
from scalpcheck.evaluation import scores
from scalpcheck.learn import export
from scalpcheck.learn.backbones import FeatureModel, get
from scalpcheck.learn.head import Head
from scalpcheck.preprocess import Preprocess
from scalpcheck.tasks import TASKS


def _model_and_card(size=64):
    backbone = get("efficientnet_lite0")
    torch.manual_seed(0)
    model = FeatureModel(backbone.create(), Head(backbone.feature_dim, 5, 32, 0.2)).eval()
    card = export.make_card(
        task=TASKS["hairloss"],
        pre=Preprocess(input_size=size),
        backbone=BackboneInfo(name=backbone.name, weights_source="random init", pretrained=False),
        temperature=1.0,
        ood=OodInfo(method=ood.METHOD, threshold=1.0, heldout_accept_rate=1.0),
        metrics=CardMetrics(
            **vars(scores([0, 1], [[1, 0, 0, 0, 0], [0, 1, 0, 0, 0]], TASKS["hairloss"].labels))
        ),
        data=DataInfo(fingerprint="0" * 64, n_images=0, counts={}),
        synthetic=True,
    )
    return model, card


def test_onnx_runtime_matches_torch(tmp_path):
    model, card = _model_and_card()
    images = torch.randn(5, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    stats = ood.fit(np.random.default_rng(0).random((4, 1280)))
    out = export.write_bundle(tmp_path / "bundle", model, card, stats, images[:2])
    graph = (out / bundle.MODEL_FILE).read_bytes()
    assert export.onnx_parity(graph, model, images) < export.PARITY_TOLERANCE
    session = onnx_session.create(out / bundle.MODEL_FILE)
    for n in (1, 5):  # the batch dimension is dynamic
        logits, embedding, feature_map = session.run(None, {"image": images[:n].numpy()})
        assert (
            logits.shape == (n, 5) and embedding.shape == (n, 1280) and feature_map.shape == (n, 1280, 2, 2)
        )
    card = bundle.read_card(out)
    assert card.export is not None and card.export.opset >= 17
    written = json.loads((out / bundle.CARD_FILE).read_text())
    contract = {"task", "classes", "input_size", "preprocess", "backbone", "temperature", "ood", "metrics"}
    assert contract | {"data", "created_at", "scalpcheck_version", "synthetic_data"} <= set(written)
    assert written["input_size"] == 64 and written["preprocess"]["mean"] == [0.485, 0.456, 0.406]


def test_failed_parity_leaves_no_bundle(tmp_path, monkeypatch):
    model, card = _model_and_card()
    monkeypatch.setattr(export, "onnx_parity", lambda *args: 1.0)
    out = tmp_path / "models"
    out.mkdir()
    with pytest.raises(export.ExportError, match="differ"):
        export.write_bundle(out / "bundle", model, card, {"method": np.array("x")}, torch.zeros(1, 3, 64, 64))
    assert list(out.iterdir()) == []
