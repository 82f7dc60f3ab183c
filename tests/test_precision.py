"""Mixed precision: refused where the hardware lacks the units, recorded as a setting, and every
trained model measured in float32."""

import json

import numpy as np
import pytest

from kerasinv import models, precision, training
from kerasinv.errors import ConfigError, OutputError
from kerasinv.precision import check_precision
from tests.helpers import run_cli_here

HAS_BF16 = bool(precision.cpu_flags() & {"avx512_bf16", "amx_bf16"})


def test_a_precision_the_hardware_would_emulate_is_refused():
    check_precision("float32", gpus=[], flags=set())
    check_precision("mixed_bfloat16", gpus=[], flags={"avx512_bf16"})
    check_precision("mixed_bfloat16", gpus=[(8, 0)], flags=set())
    check_precision("mixed_float16", gpus=[(7, 5)], flags=set())
    with pytest.raises(ConfigError, match="no GPU and its CPU no bfloat16 units"):
        check_precision("mixed_bfloat16", gpus=[], flags={"avx512f"})
    with pytest.raises(ConfigError, match="no GPU and its CPU no float16 units"):
        check_precision("mixed_float16", gpus=[], flags={"avx512_bf16"})
    with pytest.raises(ConfigError, match=r"compute capability 8\.0 or newer; these have 7\.5"):
        check_precision("mixed_bfloat16", gpus=[(7, 5)], flags=set())
    with pytest.raises(ConfigError, match="must be one of"):
        check_precision("bfloat16", gpus=[], flags=set())


def test_the_cli_refuses_float16_on_a_cpu_in_one_line(tmp_path):
    if precision.gpu_capabilities():
        pytest.skip("a GPU is present")
    result = run_cli_here(
        "recipe", "springenberg-allcnn", "--preset", "smoke", "--precision", "mixed_float16",
        "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert (
        result.stderr.startswith("error: --precision mixed_float16") and "float32" in result.stderr
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not HAS_BF16, reason="this CPU has no bfloat16 units")
def test_a_bfloat16_run_trains_in_it_and_returns_a_float32_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (32, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 2, 32)
    seen = []

    def build():
        model = models.get("all-cnn-c", width=0.0625, classes=2, dropout=False)
        seen.append(model.layers[2].dtype_policy.name)
        return model

    config = training.TrainConfig(epochs=1, batch_size=16, verbose=0, precision="mixed_bfloat16")
    tr, te = training.make_datasets(x, y, x, y, lambda b: b / 255.0, config)
    result = training.train(build, tr, te, config, tmp_path / "work")
    assert seen[0] == "mixed_bfloat16"  # trained in it
    assert {layer.dtype_policy.name for layer in result.model.layers} == {"float32"}
    assert 0.0 <= result.test_accuracy <= 1.0


def test_follow_policy_recasts_a_loaded_models_layers_and_keeps_the_output_float32():
    import keras

    net = models.get("all-cnn-c", width=0.0625, dropout=False)
    assert precision.follow_policy(net) is net  # float32 already: unchanged
    with precision.policy("mixed_bfloat16"):
        mixed = precision.follow_policy(net)
    names = {layer.name: layer.dtype_policy.name for layer in mixed.layers}
    assert names["conv1"] == "mixed_bfloat16" and names[mixed.layers[-1].name] == "float32"
    assert keras.config.dtype_policy().name == "float32"  # restored
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    back = precision.as_float32(mixed, lambda: precision.follow_policy(net))
    np.testing.assert_array_equal(back.predict(x, verbose=0), net.predict(x, verbose=0))


def test_precision_is_a_setting_and_runs_from_before_it_resume_as_float32(tmp_path):
    from kerasinv.reporting.folder import prepare_output

    out = tmp_path / "run"
    prepare_output(out, {"seed": 0}, False, (), "x")  # a run recorded before precision existed
    old = {"settings": {"seed": 0}, "records": [{"measured": 1}]}
    (out / "results.json").write_text(json.dumps(old))
    kept = prepare_output(out, {"seed": 0, "precision": "float32"}, False, (), "x")
    assert kept["records"] == [{"measured": 1}]
    with pytest.raises(OutputError, match=r"different settings \(precision\)"):
        prepare_output(out, {"seed": 0, "precision": "mixed_bfloat16"}, False, (), "x")
