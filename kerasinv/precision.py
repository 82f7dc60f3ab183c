"""Mixed-precision training where the hardware has the units for it.

``float32`` is the default and what the reproductions use. ``mixed_bfloat16`` and ``mixed_float16``
are Keras's mixed policies: layers compute in 16 bits and keep float32 weights (``mixed_float16``
adds Keras's loss scaling). A precision the machine would only emulate, slower than float32, is
refused before any work (:func:`check_precision`):

- ``mixed_bfloat16``: a GPU of compute capability 8.0 or newer, or a CPU with AVX512_BF16 or AMX
  bfloat16 units;
- ``mixed_float16``: a GPU of compute capability 7.0 or newer (CPUs have no float16 matrix units
  that TensorFlow uses).

Training models come back in float32 (:func:`as_float32`): evaluation stays float32, because a
rounding difference can flip a top-1 and inflate P(top-1 change).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from kerasinv.errors import ConfigError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
#: the GPU compute capability each mixed policy needs
_GPU_NEEDS = {"mixed_bfloat16": (8, 0), "mixed_float16": (7, 0)}
_CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where ``/proc/cpuinfo`` cannot be read)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def gpu_capabilities() -> list[tuple[int, int]]:
    """Compute capabilities of the GPUs TensorFlow sees."""
    import tensorflow as tf

    found = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        if capability:
            found.append(tuple(capability))
    return found


def check_precision(precision: str, gpus=None, flags=None) -> None:
    """Refuse a precision this machine lacks the units for (one line: what is missing, what to
    use). ``gpus`` and ``flags`` default to this machine's (:func:`gpu_capabilities`,
    :func:`cpu_flags`).

    Raises:
        ConfigError: an unknown precision, or one the hardware would only emulate.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "float32":
        return
    gpus = gpu_capabilities() if gpus is None else gpus
    need = _GPU_NEEDS[precision]
    if gpus:
        if all(tuple(c) >= need for c in gpus):
            return
        raise ConfigError(
            f"--precision {precision} needs GPUs of compute capability {need[0]}.{need[1]} or newer; "
            f"these have {', '.join(f'{a}.{b}' for a, b in gpus)}: train in float32"
        )
    flags = cpu_flags() if flags is None else flags
    if precision == "mixed_bfloat16" and flags & set(_CPU_BF16_FLAGS):
        return
    units = (
        "bfloat16 units (AVX512_BF16 or AMX)" if precision == "mixed_bfloat16" else "float16 units"
    )
    raise ConfigError(
        f"--precision {precision}: this machine has no GPU and its CPU no {units}, so it would "
        "emulate 16-bit maths, slower than float32: train in float32"
    )


@contextlib.contextmanager
def policy(precision: str):
    """Keras's global dtype policy set to ``precision`` inside the block, restored after."""
    import keras

    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)


def follow_policy(model):
    """``model`` with its layers computing in Keras's current global policy (its output layer kept
    in float32, as Keras advises), the same weights: for a model loaded or cloned from a saved
    config, whose layers carry the policy they were saved with. ``model`` itself when nothing
    changes."""
    import keras

    wanted = keras.config.dtype_policy().name
    output = model.layers[-1]
    if all(layer.dtype_policy.name == wanted for layer in model.layers if layer is not output):
        return model

    def clone(layer):
        config = layer.get_config()
        if layer is not output and not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = wanted
        return layer.__class__.from_config(config)

    twin = keras.models.clone_model(model, clone_function=clone)
    twin.set_weights(model.get_weights())
    return twin


def as_float32(model, build):
    """``model`` itself if it computes in float32, else ``build()`` made under the float32 policy
    with ``model``'s weights (mixed policies keep float32 weights, so they carry over exactly)."""
    if model.dtype_policy.name == "float32":
        return model
    with policy("float32"):
        twin = build()
    twin.set_weights(model.get_weights())
    return twin


__all__ = [
    "PRECISIONS",
    "as_float32",
    "check_precision",
    "cpu_flags",
    "follow_policy",
    "gpu_capabilities",
    "policy",
]
