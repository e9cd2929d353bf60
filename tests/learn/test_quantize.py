"""INT8 quantisation of a run's bundle: written only when as accurate, loadable by serving, float outputs."""

from __future__ import annotations

import argparse
import json

import onnx
import pytest

from scalpcheck import bundle
from scalpcheck.errors import UsageError
from scalpcheck.learn import quantize
from scalpcheck.serve.model import LoadedModel


@pytest.fixture(scope="module")
def quantized(tiny_run, tmp_path_factory):
    return quantize.quantize_run(tiny_run.run_dir, tmp_path_factory.mktemp("int8") / "bundle")


def test_both_graphs_are_scored_on_the_run_test_split(quantized, tiny_run):
    test_rows = [
        r for r in (tiny_run.run_dir / "split.csv").read_text().splitlines()[1:] if r.endswith(",test")
    ]
    assert quantized.fp32_test.n == quantized.int8_test.n == len(test_rows)
    assert quantized.fp32_test.accuracy == pytest.approx(tiny_run.summary.bundle.metrics.accuracy)
    assert 0 <= quantized.top1_agreement <= 1
    assert quantized.kept == (quantized.accuracy_change_points >= -quantize.MAX_ACCURACY_DROP * 100 - 1e-6)


def test_a_kept_int8_bundle_serves_with_float_outputs_and_an_exact_head(quantized):
    if not quantized.kept:
        pytest.skip("the tiny model lost accuracy in INT8 (the not-kept path is tested below)")
    model = LoadedModel.load(quantized.bundle_dir)  # checks head.npz against the graph's logits
    card = bundle.read_card(quantized.bundle_dir)
    assert card.model_version.endswith("-int8") and card.quantization is not None
    assert card.quantization.int8_test_accuracy == quantized.int8_test.accuracy
    assert card.metrics.accuracy == quantized.int8_test.accuracy
    graph = onnx.load(str(quantized.bundle_dir / bundle.MODEL_FILE)).graph
    assert any(node.op_type == "QuantizeLinear" for node in graph.node)
    assert {o.name: o.type.tensor_type.elem_type for o in graph.output} == dict.fromkeys(
        ("logits", "embedding", "feature_map"), onnx.TensorProto.FLOAT
    )
    assert model.session.get_outputs()[0].name == "logits"


def test_an_int8_model_that_loses_accuracy_is_not_written(tiny_run, tmp_path, monkeypatch):
    monkeypatch.setattr(quantize, "MAX_ACCURACY_DROP", -1.0)  # demand 100 points more than FP32
    result = quantize.quantize_run(tiny_run.run_dir, tmp_path / "models" / "int8")
    assert not result.kept and result.bundle_dir is None
    assert list((tmp_path / "models").iterdir()) == []  # no bundle, no scratch left behind


def test_a_folder_that_is_not_a_run_is_a_usage_error(tmp_path, tiny_run):
    with pytest.raises(UsageError, match="not a training run"):
        quantize.quantize_run(tmp_path, tmp_path / "int8")
    run = tmp_path / "run"
    (run / "bundle").mkdir(parents=True)
    for name in (bundle.MODEL_FILE, bundle.HEAD_FILE, bundle.OOD_FILE, bundle.CARD_FILE):
        (run / "bundle" / name).write_bytes((tiny_run.bundle_dir / name).read_bytes())
    with pytest.raises(UsageError, match="args.yaml and split.csv"):
        quantize.quantize_run(run, tmp_path / "int8")
    assert json.loads((run / "bundle" / bundle.CARD_FILE).read_text())["task"] == "scalp"


def test_the_command_publishes_a_kept_model(tiny_run, home, tmp_path, capsys):
    from scalpcheck.cli import quantize as command

    args = argparse.Namespace(run_dir=tiny_run.run_dir, out=tmp_path / "int8", publish=True, json=True)
    code = command.run(args)
    printed = json.loads(capsys.readouterr().out)
    assert code == (0 if printed["kept"] else 1)
    if printed["kept"]:
        assert bundle.read_card(home / "models" / "scalp").model_version.endswith("-int8")
        assert printed["published"] == str(home / "models" / "scalp")
    else:
        assert printed["bundle"] is None and not (home / "models" / "scalp").exists()


def test_the_command_refuses_a_missing_run(tmp_path):
    from scalpcheck.cli import quantize as command

    args = argparse.Namespace(run_dir=tmp_path / "nope", out=None, publish=False, json=False)
    with pytest.raises(UsageError, match="no such folder"):
        command.run(args)
