"""NumPy references for the anti-aliasing layers: written from the papers' definitions with np.pad
and explicit loops, sharing no code with the layers."""

import numpy as np

NP_MODES = {"reflect": "reflect", "symmetric": "symmetric", "zero": "constant", "circular": "wrap"}


def binomial(k):
    row = np.array([1.0])
    for _ in range(k - 1):
        row = np.convolve(row, [1.0, 1.0])
    f = np.outer(row, row)
    return f / f.sum()


def blurpool(x, k, s, padding, offset=0):
    """Binomial blur of ``[B, H, W, C]`` (padding ``floor((k-1)/2)`` before, the rest after), sampled
    at ``offset, offset + s, ...`` on both axes."""
    f = binomial(k)
    p0, p1 = (k - 1) // 2, k - 1 - (k - 1) // 2
    xp = np.pad(x.astype(np.float64), [(0, 0), (p0, p1), (p0, p1), (0, 0)], mode=NP_MODES[padding])
    rows = range(offset, x.shape[1], s)
    cols = range(offset, x.shape[2], s)
    out = np.zeros((x.shape[0], len(rows), len(cols), x.shape[3]))
    for a, i in enumerate(rows):
        for b, j in enumerate(cols):
            out[:, a, b, :] = np.einsum("bijc,ij->bc", xp[:, i : i + k, j : j + k, :], f)
    return out


def same_offset(kernel, n, s=2):
    """The grid a "same"-padded ``kernel``-tap stride-``s`` layer keeps: TF pads
    ``max((ceil(n/s) - 1)·s + kernel - n, 0) // 2`` before, its stride-1 version ``(kernel-1)//2``."""
    m = -(-n // s)
    return (kernel - 1) // 2 - max((m - 1) * s + kernel - n, 0) // 2


def aps(x, k=1):
    """Adaptive polyphase sampling: (circular blur, then) the component with the largest l2 norm."""
    if k > 1:
        x = blurpool(x, k, 1, "circular")
    x = np.concatenate([x, x[:, :1]], axis=1) if x.shape[1] % 2 else x
    x = np.concatenate([x, x[:, :, :1]], axis=2) if x.shape[2] % 2 else x
    out = []
    for img in x:
        comps = [img[i::2, j::2] for i in (0, 1) for j in (0, 1)]
        out.append(comps[int(np.argmax([np.linalg.norm(c) for c in comps]))])
    return np.stack(out)


def lps(x, layer, k=1):
    """Learnable polyphase sampling at inference, in NumPy: (circular blur, circular padding to
    even sizes, then) the component whose score, the mean over positions of
    conv3x3(relu(conv3x3(component))) with circular padding and ``layer``'s weights, is highest."""
    import itertools

    if k > 1:
        x = blurpool(x, k, 1, "circular")
    x = np.concatenate([x, x[:, :1]], axis=1) if x.shape[1] % 2 else x
    x = np.concatenate([x, x[:, :, :1]], axis=2) if x.shape[2] % 2 else x
    weights = {v.path.split("/")[-2] + "/" + v.name: np.asarray(v) for v in layer.weights}

    def conv(image, kernel, bias):  # circular 3x3 conv of one image [h, w, c]
        out = np.zeros((*image.shape[:2], kernel.shape[-1])) + bias
        for dy, dx in itertools.product(range(3), range(3)):
            shifted = np.roll(image, (1 - dy, 1 - dx), axis=(0, 1))
            out += shifted @ kernel[dy, dx]
        return out

    out = []
    for img in x.astype(np.float64):
        comps = [img[i::2, j::2] for i in (0, 1) for j in (0, 1)]
        scores = []
        for c in comps:
            hidden = np.maximum(conv(c, weights["score1/kernel"], weights["score1/bias"]), 0)
            scores.append(conv(hidden, weights["score2/kernel"], weights["score2/bias"]).mean())
        out.append(comps[int(np.argmax(scores))])
    return np.stack(out)


def max_pool_dense(x, window):
    """Stride-1 "valid" max pool."""
    h, w = x.shape[1] - window + 1, x.shape[2] - window + 1
    out = np.full((x.shape[0], h, w, x.shape[3]), -np.inf)
    for i in range(window):
        for j in range(window):
            out = np.maximum(out, x[:, i : i + h, j : j + w])
    return out
