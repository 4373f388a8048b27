"""dlib's face-recognition ResNet (``dlib_face_recognition_resnet_model_v1.dat``) run in NumPy.

The dlib-bin wheel is built without BLAS, so its CPU forward pass costs ~75 ms per chip. The
same weights through NumPy's OpenBLAS matrix products give the same 128-d descriptor (max
difference ~1e-6, checked against dlib when the model loads) several times faster, and the
chip and its mirror image go through as one batch.

The network is the one in dlib's ``dnn_face_recognition_ex.cpp``: a 7x7/2 convolution, 3x3/2
max pool, 14 residual blocks (32, 64, 128, 256 filters; the first block of a level halves the
size and its shortcut is a 2x2 average pool), a global average pool and a 256->128 linear
layer. dlib serialises layers input-first; each layer starts with its name, and tensors are
raw little-endian float32 (dlib/dnn/tensor.h). The batch-norm ``affine_`` layers are folded
into the convolution before them at load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# input_rgb_image_sized<150>: (pixel - mean) / 256 per RGB channel.
INPUT_MEAN = np.array([122.782, 117.001, 104.298], np.float32)
INPUT_SIZE = 150
# (filters, stride) of each residual block in forward order (the ex.cpp levels 4..0).
BLOCKS = [(32, 1)] * 3 + [(64, 2)] + [(64, 1)] * 3 + [(128, 2)] + [(128, 1)] * 2
BLOCKS += [(256, 2)] + [(256, 1)] * 2 + [(256, 2)]

_TOKENS = {
    b"con_4": "con",
    b"affine_": "affine",
    b"relu_": "relu",
    b"max_pool_2": "max_pool",
    b"avg_pool_2": "avg_pool",
    b"fc_2": "fc",
}


class ModelFormatError(ValueError):
    """The model file is not the network this module implements."""


@dataclass(frozen=True)
class Conv:
    weight: np.ndarray  # (kh * kw * C, filters), rows ordered (dy, dx, channel)
    bias: np.ndarray  # (filters,)
    size: int
    stride: int
    padding: int


class _Reader:
    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.pos = buf, pos

    def int(self) -> int:
        # dlib's compact integer: a control byte (low nibble = length, 0x80 = negative),
        # then that many little-endian bytes.
        ctrl = self.buf[self.pos]
        n = ctrl & 0x0F
        value = int.from_bytes(self.buf[self.pos + 1 : self.pos + 1 + n], "little")
        self.pos += 1 + n
        return -value if ctrl & 0x80 else value

    def tensor(self) -> np.ndarray:
        if self.int() != 2:
            raise ModelFormatError("unsupported tensor serialisation version")
        count = int(np.prod([self.int() for _ in range(4)]))
        data = np.frombuffer(self.buf, "<f4", count, self.pos).astype(np.float32)
        self.pos += 4 * count
        return data


def _layers(buf: bytes) -> list[tuple]:
    found = []
    for name, kind in _TOKENS.items():
        marker = bytes([1, len(name)]) + name  # a serialised std::string
        at = buf.find(marker)
        while at >= 0:
            found.append((at, kind, at + len(marker)))
            at = buf.find(marker, at + 1)
    layers: list[tuple] = []
    for _, kind, pos in sorted(found):
        r = _Reader(buf, pos)
        if kind == "con":
            params = r.tensor()
            filters, rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(7))
            if rows != cols or stride_y != stride_x or pad_y != pad_x:
                raise ModelFormatError("only square convolutions are supported")
            n = params.size - filters
            w = params[:n].reshape(filters, n // (filters * rows * cols), rows, cols)
            layers.append(("con", w, params[n:], rows, stride_y, pad_y))
        elif kind == "affine":
            params = r.tensor()
            k = params.size // 2
            layers.append(("affine", params[:k], params[k:]))
        elif kind == "fc":
            outputs, inputs = r.int(), r.int()
            layers.append(("fc", r.tensor()[: inputs * outputs].reshape(inputs, outputs)))
        elif kind in ("max_pool", "avg_pool"):
            rows, cols, stride_y, stride_x, pad_y, pad_x = (r.int() for _ in range(6))
            layers.append((kind, rows, stride_y, pad_y))
        else:
            layers.append(("relu",))
    return layers


def _fold(con: tuple, affine: tuple) -> Conv:
    _, w, b, size, stride, padding = con
    _, gamma, beta = affine
    w = (w * gamma[:, None, None, None]).transpose(2, 3, 1, 0).reshape(-1, w.shape[0])
    bias = (b * gamma + beta).astype(np.float32)
    return Conv(np.ascontiguousarray(w), bias, size, stride, padding)


class FaceResNet:
    """The 128-d descriptor of aligned 150x150 RGB chips; stateless, so thread-safe."""

    def __init__(self, path: str | Path) -> None:
        layers = _layers(Path(path).read_bytes())
        kinds = [layer[0] for layer in layers]
        expected = ["con", "affine", "relu", "max_pool"]
        for _, stride in BLOCKS:
            expected += ["con", "affine", "relu", "con", "affine"]
            expected += ["avg_pool", "relu"] if stride == 2 else ["relu"]
        expected += ["avg_pool", "fc"]
        pools = [layer[1:] for layer in layers if layer[0].endswith("pool")]
        # (size, stride, padding): the 3x3/2 max pool, 2x2/2 shortcuts, the global average.
        if kinds != expected or pools != [(3, 2, 0)] + [(2, 2, 0)] * 4 + [(0, 1, 0)]:
            raise ModelFormatError("the layers are not those of dlib's face-recognition ResNet")
        convs = [i for i, k in enumerate(kinds) if k == "con"]
        self.stem = _fold(layers[convs[0]], layers[convs[0] + 1])
        self.blocks = [
            (_fold(layers[i], layers[i + 1]), _fold(layers[j], layers[j + 1]))
            for i, j in zip(convs[1::2], convs[2::2], strict=True)
        ]
        for (filters, stride), (first, _) in zip(BLOCKS, self.blocks, strict=True):
            if first.bias.size != filters or first.stride != stride:
                raise ModelFormatError("unexpected residual block shape")
        self.fc = np.ascontiguousarray(layers[-1][1])

    def __call__(self, chips: np.ndarray) -> np.ndarray:
        """(N, 150, 150, 3) or (150, 150, 3) uint8 RGB -> (N, 128) or (128,) float32."""
        single = chips.ndim == 3
        x = np.asarray(chips, np.float32).reshape(-1, INPUT_SIZE, INPUT_SIZE, 3)
        x = (x - INPUT_MEAN) * np.float32(1 / 256)
        x = _max_pool(np.maximum(_conv(x, self.stem), 0), 3, 2)
        for first, second in self.blocks:
            y = _conv(np.maximum(_conv(x, first), 0), second)
            shortcut = _avg_pool(x) if first.stride == 2 else x
            x = np.maximum(_add(y, shortcut), 0)
        out = x.mean(axis=(1, 2)) @ self.fc
        return out[0] if single else out


def _conv(x: np.ndarray, c: Conv) -> np.ndarray:
    if p := c.padding:  # (np.pad is several times slower than this)
        padded = np.zeros((x.shape[0], x.shape[1] + 2 * p, x.shape[2] + 2 * p, x.shape[3]), x.dtype)
        padded[:, p:-p, p:-p] = x
        x = padded
    n, h, w, ch = x.shape
    ho, wo = (h - c.size) // c.stride + 1, (w - c.size) // c.stride + 1
    win = sliding_window_view(x, (c.size, c.size), axis=(1, 2))[:, :: c.stride, :: c.stride]
    cols = win[:, :ho, :wo].transpose(0, 1, 2, 4, 5, 3).reshape(n * ho * wo, -1)
    out = cols @ c.weight
    out += c.bias
    return out.reshape(n, ho, wo, -1)


def _max_pool(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    windows = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(-2, -1))


def _avg_pool(x: np.ndarray) -> np.ndarray:
    n, h, w, ch = x.shape
    h2, w2 = h // 2, w // 2
    return x[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, ch).mean(axis=(2, 4))


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # dlib's add_prev: shapes may differ (more filters, or a 3x3 block output against a 4x4
    # pooled shortcut); the sum is top-left aligned with zeros where one side is missing.
    if a.shape == b.shape:
        return a + b
    shape = tuple(max(i, j) for i, j in zip(a.shape, b.shape, strict=True))
    out = np.zeros(shape, np.float32)
    out[:, : a.shape[1], : a.shape[2], : a.shape[3]] += a
    out[:, : b.shape[1], : b.shape[2], : b.shape[3]] += b
    return out
