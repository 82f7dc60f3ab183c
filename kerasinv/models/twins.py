"""``antialias(model)``: the anti-aliased twin of any Keras functional or Sequential CNN.

Zhang's three rules (docs/papers.md §3.2), applied to every stride-2 downsampling layer, in nested
models and blocks too (ConvNeXt's downsampling blocks, say):

- **max / average pool** ``(k, stride 2)`` -> the same pool at stride 1, then BlurPool
  (:class:`~kerasinv.layers.MaxBlurPool2D` / ``AvgBlurPool2D``, keeping the layer's name). An
  average pool ``2x2/2`` with ``"valid"`` padding on an even-sized map becomes BlurPool alone
  (Zhang's "AvgPool -> BlurPool") for filters of 2 taps or more.
- **strided k x k convolution** (``Conv2D``, ``DepthwiseConv2D``, ``SeparableConv2D``, k > 1) -> the
  same convolution at stride 1, its batch normalisation and activation (followed while they are
  the only consumer), then BlurPool: the blur goes *after* the nonlinearity.
- **strided 1x1 convolution** -> BlurPool, then the 1x1 convolution at stride 1 (a 1x1 convolution
  is pointwise and linear, so blurring before it equals blurring after it, at a quarter of the cost).

How: no layer is added. The layer after which (or before which) the blur goes becomes its
``Blurred<Layer>`` subclass (:mod:`kerasinv.layers.antialias`), with the same variables and name, and
the graph is cloned with ``keras.models.clone_model``. So the twin has the original's weights in the
original's order: ``twin.set_weights(model.get_weights())`` and ``twin.load_weights(file)`` both
work, and Keras operations in the graph (``x * relu6(x + 3)`` in MobileNetV3) are cloned as Keras
clones them.

Sampling grid: each blur keeps the pixels the original layer keeps. A ``"same"``-padded stride-2
layer with an odd kernel on an even-sized map keeps odd positions of its stride-1 version; the blur
then samples from offset 1 (:func:`~kerasinv.layers.blurpool.same_padding_offset`, resolved at call
time when the size is unknown). So the ``"blur-1"`` twin computes the original function, to float
precision, for every network: the twin changes the function only by the blur.

By default the stem is left alone, as Zhang does to save compute at the highest resolution: the
first strided convolution when it reads the input image directly, with nothing downsampling and no
nonlinearity before it (the stem of a ResNet, MobileNet, DenseNet or ConvNeXt; padding, rescaling,
normalisation and dropout may precede it). A strided layer after a ReLU is no stem (All-CNN-C's
``conv3``, after two 3x3 convolutions and their ReLUs, is anti-aliased). ``leave_stem=False``
anti-aliases the stem too.

A layer that cannot be rewritten — strides other than 2 (after the stem), unequal strides, a
stride-2 layer called more than once, an unknown layer class with strides, a non-square "same"
window — is an error that names it; pass its name in ``skip`` to leave it unchanged. Subclassed
models cannot be rewritten (their graph is Python code).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable

import keras

from kerasinv.layers.antialias import (
    BLURRED,
    AvgBlurPool2D,
    MaxBlurPool2D,
    downsampler,
    parse_antialias,
)
from kerasinv.layers.blurpool import PADDINGS, same_padding_offset

CONVS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
POOLS = ("MaxPooling2D", "AveragePooling2D")
FOLLOWERS = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU")
ACTIVATIONS = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU")
MODELS = ("Functional", "Sequential", "Model")


@dataclasses.dataclass(frozen=True)
class Change:
    """One planned change. ``kind`` is ``"pool"``, ``"conv"``, ``"conv1x1"`` or ``"skipped"``;
    ``layer`` is the layer's name, prefixed by the nested models it sits in (``"block/conv"``)."""

    layer: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.layer}: {self.detail}"


class AntialiasError(ValueError):
    """A layer :func:`antialias` cannot rewrite (the message names it and how to skip it)."""


def _pair(value) -> tuple[int, int]:
    return (int(value), int(value)) if isinstance(value, int) else tuple(int(v) for v in value)


def _is_keras(layer, class_name: str) -> bool:
    """``layer`` is exactly Keras's ``class_name`` (not a user subclass of it)."""
    return type(layer) is getattr(keras.layers, class_name, None)


class _Graph:
    """One (possibly nested) model's layers, in order, with who consumes whom and input shapes."""

    def __init__(self, model: keras.Model):
        """Raises ``ValueError`` for a model whose graph cannot be read (subclassed, or an
        unbuilt Sequential)."""
        self.layers: list[keras.layers.Layer] = []
        self.consumers: dict[str, list[str]] = {}
        self.calls: dict[str, int] = {}
        self.input_shape: dict[str, tuple] = {}
        if isinstance(model, keras.Sequential):
            if not model.built or not model.inputs:
                raise ValueError(
                    "antialias needs a built Sequential model: give it an Input or call it on "
                    "data first"
                )
            shape = tuple(model.inputs[0].shape)
            layers = [
                layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
            ]
            for i, layer in enumerate(layers):
                self.layers.append(layer)
                self.input_shape[layer.name] = shape
                self.calls[layer.name] = 1
                self.consumers[layer.name] = [layers[i + 1].name] if i + 1 < len(layers) else []
                shape = tuple(layer.compute_output_shape(shape))
            self.outputs = {layers[-1].name} if layers else set()
            self.by_name = {layer.name: layer for layer in self.layers}
            return
        try:
            config = model.get_config() or {}
        except NotImplementedError:
            config = {}
        if "layers" not in config:
            raise ValueError(
                f"antialias works on functional and Sequential Keras models; {type(model).__name__}"
                " is a subclassed model whose graph cannot be rewritten (build its anti-aliased "
                "version with kerasinv.layers.BlurPool2D / MaxBlurPool2D directly)"
            )
        by_name = {layer.name: layer for layer in model.layers}
        self.by_name = by_name
        self.outputs = set()
        outputs = config["output_layers"]
        for ref in [outputs] if outputs and isinstance(outputs[0], str) else outputs:
            self.outputs.add(ref[0])
        for entry in config["layers"]:
            name = entry["name"]
            if name not in by_name:
                continue
            self.layers.append(by_name[name])
            self.consumers.setdefault(name, [])
            nodes = entry.get("inbound_nodes", [])
            self.calls[name] = len(nodes)
            for node in nodes:
                refs = list(_tensor_refs(node))
                if refs and name not in self.input_shape:
                    self.input_shape[name] = tuple(refs[0]["config"]["shape"])
                for ref in refs:
                    self.consumers.setdefault(ref["config"]["keras_history"][0], []).append(name)

    def chain_end(self, layer) -> keras.layers.Layer:
        """Follow a conv through its batch norm / activation while each is the sole consumer."""
        if layer.get_config().get("activation", "linear") != "linear":
            return layer
        current = layer
        while True:
            nxt = self.consumers.get(current.name, [])
            if len(nxt) != 1 or current.name in self.outputs:
                return current
            follower = self.by_name.get(nxt[0])
            if (
                follower is None
                or not any(_is_keras(follower, cls) for cls in FOLLOWERS)
                or self.calls.get(follower.name) != 1
            ):
                return current
            current = follower
            if type(current).__name__ in ACTIVATIONS:
                return current


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


@dataclasses.dataclass
class _Plan:
    """What :func:`antialias` was asked (``method`` parsed once into ``how`` and ``size``), and
    what the walk through the graph has found so far."""

    method: str
    how: str
    size: int
    leave_stem: bool
    skip: frozenset[str]
    padding: str
    changes: list[Change] = dataclasses.field(default_factory=list)
    #: id(original layer) -> (class, config) of the layer that replaces it in the twin
    replace: dict[int, tuple[type, dict]] = dataclasses.field(default_factory=dict)
    downsampled: bool = False
    #: a nonlinearity came before (in graph order): a strided layer after it is no stem
    nonlinear: bool = False


def _is_nonlinear(layer, config: dict) -> bool:
    """An activation layer, a layer with a nonlinear activation, or a pool."""
    cls = type(layer).__name__
    if cls in ACTIVATIONS or cls in ("Softmax", "ThresholdedReLU") or cls in POOLS:
        return True
    return config.get("activation") not in (None, "linear")


def _grid(kernel: tuple[int, int], padding: str, shape: tuple) -> int | str:
    """The blur's offset that keeps the pixels a stride-2 layer with this window keeps: an int
    when the map size is known (and both axes agree), else ``"same-K"`` (resolved at call time)."""
    if padding != "same":
        return 0
    size = tuple(shape[1:3]) if len(shape) > 2 else (None, None)
    if None not in size:
        rows, cols = (same_padding_offset(k, int(n)) for k, n in zip(kernel, size, strict=True))
        if rows == cols:
            return rows
    return f"same-{kernel[0]}"


def _refuse(where: str, why: str) -> AntialiasError:
    return AntialiasError(
        f"antialias cannot rewrite layer {where!r}: {why}. Pass skip=[{where!r}] (kerasinv "
        f"finetune: --skip {where}) to leave it unchanged"
    )


def _plan_model(model, plan: _Plan, prefix: str) -> None:
    graph = _Graph(model)
    for layer in graph.layers:
        where = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model):
            _plan_model(layer, plan, f"{where}/")
            continue
        config = layer.get_config()
        _plan_layer(layer, config, where, graph, plan, prefix)
        plan.nonlinear |= _is_nonlinear(layer, config)


def _plan_layer(layer, config: dict, where: str, graph: _Graph, plan: _Plan, prefix: str) -> None:
    """The change (if any) of one layer of ``graph`` (see :func:`antialias`)."""
    method, how, size, padding = plan.method, plan.how, plan.size, plan.padding
    cls = type(layer).__name__
    if "strides" not in config or cls.endswith("Transpose"):
        return
    strides = _pair(config["strides"])
    if strides == (1, 1) or len(strides) != 2:
        return
    if layer.name in plan.skip or where in plan.skip:
        plan.changes.append(Change(where, "skipped", "listed in skip"))
        plan.downsampled = True
        return
    known = any(_is_keras(layer, c) for c in CONVS + POOLS)
    kernel = _pair(config.get("kernel_size", config.get("pool_size", 1)))
    stem = not plan.downsampled and not plan.nonlinear  # reads the input image directly
    if plan.leave_stem and stem and known and cls in CONVS and kernel != (1, 1):
        plan.changes.append(Change(where, "skipped", "stem (first downsampling) left alone"))
        plan.downsampled = True
        return
    if not known:
        raise _refuse(where, f"{cls} with strides {strides} is not a layer kerasinv knows")
    if strides != (2, 2):
        raise _refuse(where, f"strides {strides}: only stride 2 is anti-aliased")
    if graph.calls.get(layer.name, 1) != 1:
        raise _refuse(where, "the layer is shared between several calls")
    pad = config.get("padding", "valid")
    if pad == "same" and kernel[0] != kernel[1]:
        raise _refuse(where, f"a 'same'-padded {kernel[0]}x{kernel[1]} window is not square")
    shape = graph.input_shape.get(layer.name, ())
    offset = _grid(kernel, pad, shape)
    plan.downsampled = True
    if cls in POOLS:
        even = len(shape) > 2 and all(d is not None and d % 2 == 0 for d in shape[1:3])
        if (
            cls == "AveragePooling2D"
            and kernel == (2, 2)
            and pad == "valid"
            and even
            and (how != "blur" or size > 1)
        ):
            new = downsampler(how, size, padding=padding, name=layer.name)
            detail = f"{cls} 2x2/2 -> {method}"
        else:
            wrapper = MaxBlurPool2D if cls == "MaxPooling2D" else AvgBlurPool2D
            new = wrapper(kernel, pad, method, padding, offset=offset, name=layer.name)
            detail = f"{cls} {kernel[0]}x{kernel[1]}/2 -> at stride 1, then {method}"
        new_config = new.get_config()
        if config.get("dtype") is not None:
            new_config["dtype"] = config["dtype"]
        plan.replace[id(layer)] = (type(new), new_config)
        plan.changes.append(Change(where, "pool", detail))
        return
    dense = {**config, "strides": (1, 1)}
    blur = {"antialias": method, "blur_padding": padding, "offset": offset}
    if kernel == (1, 1):
        plan.replace[id(layer)] = (
            BLURRED[cls],
            {**dense, **blur, "offset": 0, "blur": "before"},
        )
        plan.changes.append(Change(where, "conv1x1", f"{cls} 1x1/2 -> {method}, then 1x1/1"))
        return
    end = graph.chain_end(layer)
    if end is layer:
        plan.replace[id(layer)] = (BLURRED[cls], {**dense, **blur, "blur": "after"})
        through = ""
    else:
        plan.replace[id(layer)] = (type(layer), dense)
        end_class = BLURRED[type(end).__name__]
        plan.replace[id(end)] = (end_class, {**end.get_config(), **blur, "blur": "after"})
        through = f" and through {prefix}{end.name}"
    plan.changes.append(
        Change(
            where,
            "conv",
            f"{cls} {kernel[0]}x{kernel[1]}/2 -> at stride 1{through}, then {method}",
        )
    )


def _make_plan(model, method, leave_stem, skip, padding="reflect") -> _Plan:
    parsed = parse_antialias(method)
    if parsed is None:
        raise ValueError(
            "method must be 'blur-K', 'aps[-K]' or 'lps[-K]', not None (None changes nothing)"
        )
    if padding not in PADDINGS:
        raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")
    plan = _Plan(method, *parsed, leave_stem, frozenset(skip), padding)
    _plan_model(model, plan, "")
    return plan


def plan_antialias(
    model: keras.Model,
    method: str = "blur-3",
    *,
    leave_stem: bool = True,
    skip: Iterable[str] = (),
) -> list[Change]:
    """The changes :func:`antialias` would make to ``model``, in graph order (nothing is built).

    Raises :class:`AntialiasError` for a layer that cannot be rewritten (see the module doc).
    """
    return _make_plan(model, method, leave_stem, skip).changes


def antialias(
    model: keras.Model,
    method: str = "blur-3",
    *,
    padding: str = "reflect",
    leave_stem: bool = True,
    skip: Iterable[str] = (),
    verbose: bool = False,
) -> keras.Model:
    """The anti-aliased twin of ``model`` by Zhang's rules (see the module doc).

    Args:
        model: a functional or built Sequential Keras model; nested models are rewritten too.
        method: ``"blur-K"`` (BlurPool, K = 1..7; ``"blur"`` = 4), ``"aps[-K]"`` (adaptive
            polyphase sampling, optionally blurred with the K-tap filter first) or ``"lps[-K]"``
            (learnable polyphase sampling: its scoring networks are new weights, to be trained).
            ``"blur-1"`` is the original function (a check that the rewrite is exact).
        padding: the blur's padding mode: ``"reflect"``, ``"symmetric"``, ``"zero"`` or ``"circular"``.
        leave_stem: leave the stem alone: the first strided convolution, if no downsampling and no
            nonlinearity comes before it.
        skip: names of layers to leave unchanged (``"block/name"`` for a layer in a nested model).
        verbose: print the report (one line per change).

    Returns:
        A new model of the same kind (functional or Sequential) with the same inputs, layer names
        and weights (copied, in the same order), named :func:`twin_name` (``resnet50_blur3``), so
        that reports and exports keyed by ``model.name`` keep the two apart; the original is not
        modified.

    Raises:
        AntialiasError: a layer cannot be rewritten; the message names it.

    Example:
        >>> import keras, numpy as np, kerasinv
        >>> stock = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3))
        >>> twin = kerasinv.antialias(stock, "blur-3")
        >>> twin.set_weights(stock.get_weights())  # stock weights load unchanged
        >>> twin(np.zeros((1, 64, 64, 3))).shape
        TensorShape([1, 1000])
    """
    plan = _make_plan(model, method, leave_stem, skip, padding)

    def clone(layer):
        replacement = plan.replace.get(id(layer))
        if replacement is None:
            return layer.__class__.from_config(layer.get_config())
        cls, config = replacement
        return cls.from_config(config)

    inputs = None
    if not isinstance(model, keras.Sequential):  # keep the input layers' names
        refs = model.get_config()["input_layers"]
        refs = [refs] if refs and isinstance(refs[0], str) else refs
        inputs = [
            keras.Input(batch_shape=t.shape, dtype=t.dtype, name=ref[0])
            for t, ref in zip(model.inputs, refs, strict=True)
        ]
        inputs = inputs if isinstance(model.input, list | tuple) else inputs[0]
    twin = keras.models.clone_model(
        model, input_tensors=inputs, clone_function=clone, recursive=True
    )
    _copy_weights(model, twin)
    twin.name = twin_name(model.name, method)
    if verbose:
        print(format_report(plan.changes, method))
    note = no_op_note(plan.changes, method)
    if note:
        warnings.warn(f"{model.name}: {note}", stacklevel=2)
    return twin


def _copy_weights(model, twin) -> None:
    """The stock weights into the twin: in order when the twin has no weights of its own; else
    (LPS's scoring networks) by variable path, every stock weight exactly once, the new ones left
    at their initial values."""
    if len(twin.weights) == len(model.weights):
        twin.set_weights(model.get_weights())
        return
    by_path = {v.path: v for v in twin.weights}
    missing = [v.path for v in model.weights if v.path not in by_path]
    if missing:
        raise AntialiasError(f"{model.name}: the twin has no place for weights {missing[:3]}")
    for variable in model.weights:
        by_path[variable.path].assign(variable)


def no_op_note(changes: list[Change], method: str) -> str | None:
    """Why a twin computes exactly its stock model's function (``None`` when it does not): no
    layer was changed, or the method is the 1-tap filter (a check of the rewrite)."""
    if not any(c.kind != "skipped" for c in changes):
        return (
            f"the {method} twin changes no layer (nothing downsamples after the stem): it "
            "computes the stock model's function"
        )
    if parse_antialias(method) == ("blur", 1):
        return "blur-1 is the 1-tap filter: the twin computes the stock model's function"
    return None


def twin_name(name: str, method: str) -> str:
    """The name :func:`antialias` gives the twin of a model named ``name``: ``resnet50_blur3``,
    ``resnet50_aps`` (a name prefix still chooses the stock model's preprocessing)."""
    return f"{name}_{method.replace('-', '')}"


def format_report(changes: list[Change], method: str) -> str:
    """A human-readable report of :func:`plan_antialias`'s changes."""
    done = [c for c in changes if c.kind != "skipped"]
    lines = [f"antialias {method}: {len(done)} layers changed, {len(changes) - len(done)} skipped"]
    lines += [f"  {c}" for c in done] + [f"  skipped {c}" for c in changes if c.kind == "skipped"]
    return "\n".join(lines)


__all__ = [
    "AntialiasError",
    "Change",
    "antialias",
    "format_report",
    "no_op_note",
    "plan_antialias",
    "twin_name",
]
