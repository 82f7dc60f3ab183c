"""``antialias(model)``: the anti-aliased twin of any Keras functional or Sequential CNN.

Zhang's three rules (papers.md §3.2), applied to every stride-2 downsampling layer:

- **max / average pool** ``(k, stride 2)`` -> the same pool at stride 1, then BlurPool
  (:class:`~kerasinv.layers.MaxBlurPool2D` keeps the layer's name). An average pool ``2x2/2``
  with ``"valid"`` padding on an even-sized map is replaced by BlurPool alone (Zhang's
  "AvgPool -> BlurPool").
- **strided k x k convolution** (``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D``, k > 1) -> the
  same convolution at stride 1, its batch normalisation and activation (followed while they are
  the only consumer), then BlurPool: the blur goes *after* the nonlinearity.
- **strided 1x1 convolution** -> BlurPool, then the 1x1 convolution at stride 1 (a 1x1 convolution
  is pointwise and linear, so blurring before it equals blurring after it, at a quarter of the
  cost). Strided 1x1 convolutions reading the same tensor (a residual block's branch and
  projection shortcut) share one BlurPool.

The blurring layer is BlurPool2D (``"blur-K"``) or PolyphasePool2D (``"aps[-K]"``). The twin keeps
every weight and every layer name, so weights saved from the original load into it; only layers
without weights are added (named ``<layer>_blurpool`` or ``<layer>_aps``). Every layer keeps its
output shape, except a strided convolution and its batch norm / activation, which now run at the
input's resolution (the blur after them restores the original shape). The sampling grid of a ``"same"``-padded
stride-2 layer on an even-sized map moves by one pixel (see :class:`~kerasinv.layers.MaxBlurPool2D`).

By default the first strided convolution, when nothing has downsampled before it (the stem of a
ResNet, MobileNet or DenseNet), is left alone, as Zhang does to save compute at the highest
resolution; ``leave_stem=False`` anti-aliases it too.

Limits (reported, never silently wrong): strides other than 2 or unequal strides, layers shared
between several calls, and layers inside nested models are left unchanged and listed in the report
as skipped.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable

import keras

from kerasinv.layers.antialias import AvgBlurPool2D, MaxBlurPool2D, downsampler, parse_antialias
from kerasinv.layers.blurpool import PADDINGS

CONVS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOLS = ("MaxPooling2D", "AveragePooling2D")
FOLLOWERS = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU")
ACTIVATIONS = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU")


@dataclasses.dataclass(frozen=True)
class Change:
    """One planned change. ``kind`` is ``"pool"``, ``"conv"``, ``"conv1x1"`` or ``"skipped"``."""

    layer: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.detail}"


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)


def _functional(model: keras.Model) -> tuple[keras.Model, dict]:
    """A functional view of ``model`` and its config (Sequential models are re-called on a new
    input); the config is computed once."""
    if isinstance(model, keras.Sequential):
        if not model.built or model.inputs is None:
            raise ValueError(
                "antialias needs a built Sequential model: give it an Input or call it on data first"
            )
        inputs = keras.Input(batch_shape=model.inputs[0].shape, dtype=model.inputs[0].dtype)
        x = inputs
        for layer in model.layers:
            x = layer(x)
        model = keras.Model(inputs, x, name=model.name)
    try:
        config = model.get_config() or {}
    except NotImplementedError:
        config = {}
    if "layers" not in config:
        raise ValueError(
            f"antialias works on functional and Sequential Keras models; {type(model).__name__} is "
            "a subclassed model whose graph cannot be rewritten (build its anti-aliased version with "
            "kerasinv.layers.BlurPool2D / MaxBlurPool2D directly)"
        )
    return model, config


def _all_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """Every layer of ``model``, descending into nested models."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(_all_layers(layer))
    return found


def _history(tensor_config) -> list:
    return tensor_config["config"]["keras_history"]


def _tensor_refs(node):
    """Every ``__keras_tensor__`` config inside a node's args/kwargs (nested lists and dicts)."""
    stack = [node.get("args", []), node.get("kwargs", {})]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                yield item
            else:
                stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


class _Graph:
    """The layer configs of a functional model with their producer/consumer links."""

    def __init__(self, config: dict):
        self.config = config
        self.layers = config["layers"]
        self.by_name = {layer["name"]: layer for layer in self.layers}
        self.consumers: dict[str, list[str]] = {name: [] for name in self.by_name}
        for layer in self.layers:
            for node in layer.get("inbound_nodes", []):
                for ref in _tensor_refs(node):
                    self.consumers[_history(ref)[0]].append(layer["name"])
        outputs = config["output_layers"]
        outputs = [outputs] if outputs and isinstance(outputs[0], str) else outputs
        self.model_outputs = {ref[0] for ref in outputs}

    def single_input(self, name: str) -> str | None:
        nodes = self.by_name[name].get("inbound_nodes", [])
        refs = list(_tensor_refs(nodes[0])) if len(nodes) == 1 else []
        return _history(refs[0])[0] if len(refs) == 1 else None

    def chain_end(self, name: str) -> str:
        """Follow a conv through its batch norm / activation while each is the sole consumer."""
        current = name
        if self.by_name[name]["config"].get("activation", "linear") != "linear":
            return current
        while True:
            nxt = self.consumers[current]
            if len(nxt) != 1 or current in self.model_outputs:
                return current
            layer = self.by_name[nxt[0]]
            if layer["class_name"] not in FOLLOWERS or len(layer.get("inbound_nodes", [])) != 1:
                return current
            current = layer["name"]
            if layer["class_name"] in ACTIVATIONS:
                return current


def plan_antialias(
    model: keras.Model,
    method: str = "blur-4",
    *,
    leave_stem: bool = True,
    skip: Iterable[str] = (),
) -> list[Change]:
    """The changes :func:`antialias` would make to ``model``, in graph order (nothing is built)."""
    if parse_antialias(method) is None:
        raise ValueError("method must be 'blur-K' or 'aps[-K]', not None")
    return _plan(_Graph(_functional(model)[1]), method, leave_stem, skip)


def _plan(graph: _Graph, method: str, leave_stem: bool, skip: Iterable[str]) -> list[Change]:
    down = str(method).strip().lower()
    skip = set(skip)
    changes: list[Change] = []
    downsampled = False
    for layer in graph.layers:
        cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
        if cls in ("Functional", "Sequential", "Model"):
            changes.append(Change(name, "skipped", "nested model: not descended into"))
            continue
        if cls not in CONVS + POOLS or "strides" not in cfg:
            continue
        strides = _pair(cfg["strides"])
        if strides == (1, 1):
            continue
        if strides != (2, 2):
            changes.append(Change(name, "skipped", f"strides {strides}: only stride 2 is handled"))
            downsampled = True
            continue
        if len(layer.get("inbound_nodes", [])) != 1:
            changes.append(Change(name, "skipped", "layer is shared between several calls"))
            continue
        if name in skip:
            changes.append(Change(name, "skipped", "listed in skip"))
            downsampled = True
            continue
        if cls in POOLS:
            pool = _pair(cfg["pool_size"])
            changes.append(
                Change(name, "pool", f"{cls} {pool[0]}x{pool[1]}/2 -> at stride 1, then {down}")
            )
        else:
            kernel = _pair(cfg.get("kernel_size", 1))
            if kernel == (1, 1):
                changes.append(Change(name, "conv1x1", f"{cls} 1x1/2 -> {down}, then 1x1/1"))
            elif leave_stem and not downsampled:
                changes.append(Change(name, "skipped", "stem (first strided conv) left alone"))
            else:
                end = graph.chain_end(name)
                where = "" if end == name else f" and through {end}"
                changes.append(
                    Change(
                        name,
                        "conv",
                        f"{cls} {kernel[0]}x{kernel[1]}/2 -> at stride 1{where}, then {down}",
                    )
                )
        downsampled = True
    return changes


def _rewire(graph: _Graph, old: str, new: str, exclude: set[str]) -> None:
    """Point every consumer of ``old`` (except ``exclude``) at ``new``."""
    for consumer in set(graph.consumers[old]) - exclude:
        for node in graph.by_name[consumer]["inbound_nodes"]:
            for ref in _tensor_refs(node):
                if _history(ref)[0] == old:
                    _history(ref)[0] = new
    if old in graph.model_outputs:
        outputs = graph.config["output_layers"]
        for ref in [outputs] if isinstance(outputs[0], str) else outputs:
            if ref[0] == old:
                ref[0] = new


def _serialise(layer: keras.layers.Layer, dtype) -> dict:
    """``layer``'s serialised config with the replaced layer's dtype policy (if it had one)."""
    config = keras.saving.serialize_keras_object(layer)
    if dtype is not None:
        config["config"]["dtype"] = dtype
    return config


def _blur_config(name: str, source: str, method: str, size: int, padding: str, dtype) -> dict:
    config = _serialise(downsampler(method, size, padding=padding, name=name), dtype)
    ref = {  # the shape and dtype are placeholders: Keras links the tensor through keras_history
        "class_name": "__keras_tensor__",
        "config": {"shape": [None] * 4, "dtype": "float32", "keras_history": [source, 0, 0]},
    }
    config["name"] = name
    config["inbound_nodes"] = [{"args": [ref], "kwargs": {}}]
    return config


def antialias(
    model: keras.Model,
    method: str = "blur-4",
    *,
    padding: str = "reflect",
    leave_stem: bool = True,
    skip: Iterable[str] = (),
    verbose: bool = False,
) -> keras.Model:
    """The anti-aliased twin of ``model`` by Zhang's rules (see the module docstring).

    Args:
        model: a functional or built Sequential Keras model (Sequential models come back functional).
        method: ``"blur-K"`` (BlurPool, K = 1..7; ``"blur"`` = 4) or ``"aps[-K]"`` (adaptive
            polyphase sampling, optionally blurred with the K-tap filter first).
        padding: BlurPool's padding mode: ``"reflect"``, ``"symmetric"``, ``"zero"`` or ``"circular"``.
        leave_stem: leave the first strided convolution alone if nothing downsamples before it.
        skip: names of layers to leave unchanged.
        verbose: print the report (one line per change).

    Returns:
        A new functional model with the same inputs, the same weights (copied) and layer names; the
        original is not modified. :func:`plan_antialias` gives the report without building.
    """
    parsed = parse_antialias(method)
    if parsed is None:
        raise ValueError("method must be 'blur-K' or 'aps[-K]', not None (None changes nothing)")
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    how, size = parsed
    source_model, config = _functional(model)
    config = copy.deepcopy(config)  # layer configs may share dicts with the layers themselves
    graph = _Graph(config)
    changes = _plan(graph, method, leave_stem, skip)  # before the graph is edited below
    suffix = "blurpool" if how == "blur" else "aps"
    blur_for_source: dict[str, str] = {}
    inserts: dict[str, list[dict]] = {}  # configs to place right after the named layer
    for change in changes:
        if change.kind == "skipped":
            continue
        layer = graph.by_name[change.layer]
        cfg, dtype = layer["config"], layer["config"].get("dtype")
        layer.pop("build_config", None)
        if change.kind == "pool":
            pool, pad = _pair(cfg["pool_size"]), cfg.get("padding", "valid")
            shape = source_model.get_layer(change.layer).input.shape
            even = all(d is not None and d % 2 == 0 for d in shape[1:3])
            if (
                layer["class_name"] == "AveragePooling2D"
                and pool == (2, 2)
                and pad == "valid"
                and even
            ):
                new = downsampler(how, size, padding=padding, name=change.layer)
            else:
                wrapper = MaxBlurPool2D if layer["class_name"] == "MaxPooling2D" else AvgBlurPool2D
                new = wrapper(pool, pad, method, padding, name=change.layer)
            serialised = _serialise(new, dtype)
            for key in ("module", "class_name", "registered_name", "config"):
                layer[key] = serialised[key]
        elif change.kind == "conv":
            cfg["strides"] = [1, 1]
            end = graph.chain_end(change.layer)
            name = f"{end}_{suffix}"
            blur = _blur_config(name, end, how, size, padding, dtype)
            _rewire(graph, end, name, exclude=set())
            inserts.setdefault(end, []).append(blur)
        else:  # conv1x1: blur its input, shared by every strided 1x1 conv reading it
            cfg["strides"] = [1, 1]
            source = graph.single_input(change.layer)
            if source not in blur_for_source:
                blur_for_source[source] = f"{source}_{suffix}"
                blur = _blur_config(blur_for_source[source], source, how, size, padding, dtype)
                inserts.setdefault(source, []).append(blur)
            for node in layer["inbound_nodes"]:
                for ref in _tensor_refs(node):
                    _history(ref)[0] = blur_for_source[source]
    taken = set(graph.by_name)
    config["layers"] = []
    pending = list(reversed(graph.layers))
    while pending:  # each layer, then the layers inserted after it (which may have their own)
        layer = pending.pop()
        config["layers"].append(layer)
        for blur in reversed(inserts.get(layer["name"], [])):
            if blur["name"] in taken:
                raise ValueError(f"cannot add layer {blur['name']!r}: the model already has one")
            taken.add(blur["name"])
            pending.append(blur)
    custom = {type(layer).__name__: type(layer) for layer in _all_layers(source_model)}
    with keras.saving.custom_object_scope(custom):
        twin = keras.Model.from_config(config)
    for layer in twin.layers:
        if layer.weights:
            layer.set_weights(source_model.get_layer(layer.name).get_weights())
    if verbose:
        print(format_report(changes, method))
    return twin


def format_report(changes: list[Change], method: str) -> str:
    """A human-readable report of :func:`plan_antialias`'s changes."""
    done = [c for c in changes if c.kind != "skipped"]
    lines = [f"antialias {method}: {len(done)} layers changed, {len(changes) - len(done)} skipped"]
    lines += [f"  {c}" for c in done] + [f"  skipped {c}" for c in changes if c.kind == "skipped"]
    return "\n".join(lines)


__all__ = ["Change", "antialias", "format_report", "plan_antialias"]
