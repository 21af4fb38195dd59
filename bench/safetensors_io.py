"""Minimal safetensors reader and writer for PyTorch, without the `safetensors` package.

The format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
"__metadata__": {str: str}} padded with spaces to a multiple of 8, then the data buffer
(offsets relative to its start; tensors contiguous, row-major, little-endian).

This is the Python twin of the Go package github.com/frpt/frpt/checkpoint and writes the
same layout: header entries in the order given (state_dict order), bytes ordered by
element size (largest first) so that every tensor is aligned.

Use it from other scripts (run them with Debian's /usr/bin/python3, which has torch):

    import sys, os
    sys.path.insert(0, "/path/to/repo/bench")
    import safetensors_io as st
    st.save("model.safetensors", model.state_dict(), {"format": "frpt/v1", "arch": "simplecnn-v1"})
    tensors, meta = st.load("model.safetensors")
    model.load_state_dict(tensors)

Functions: save(path, tensors, metadata=None), load(path) -> (dict, metadata),
read_header(path) -> (dict of entries, metadata), dumps(tensors, metadata) -> bytes,
loads(data) -> (dict, metadata).
"""
import json
import os
import struct
import sys
import tempfile

import torch

MAX_HEADER_SIZE = 100_000_000

DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def _tobytes(t):
    """Raw little-endian bytes of a tensor, row-major."""
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    if sys.byteorder == "big" and t.element_size() > 1:
        raise NotImplementedError("big-endian hosts")
    return t.numpy().tobytes()


def dumps(tensors, metadata=None):
    """Encode a dict name -> tensor (e.g. a state_dict) and string metadata as bytes."""
    names = list(tensors)
    for n in names:
        if tensors[n].dtype not in NAMES:
            raise ValueError(f"tensor {n!r}: unsupported dtype {tensors[n].dtype}")
    order = sorted(range(len(names)), key=lambda i: -tensors[names[i]].element_size())  # stable
    begin, pos = {}, 0
    for i in order:
        t = tensors[names[i]]
        begin[i] = pos
        pos += t.numel() * t.element_size()
    header = {}
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError(f"metadata {k!r}: keys and values must be strings")
        header["__metadata__"] = dict(sorted(metadata.items()))
    for i, n in enumerate(names):
        t = tensors[n]
        header[n] = {
            "dtype": NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [begin[i], begin[i] + t.numel() * t.element_size()],
        }
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * (-len(h) % 8)
    parts = [struct.pack("<Q", len(h)), h]
    parts += [_tobytes(tensors[names[i]]) for i in order]
    return b"".join(parts)


def save(path, tensors, metadata=None):
    """Write tensors and metadata to path atomically (temp file, fsync, rename)."""
    data = dumps(tensors, metadata)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _parse_header(data, size):
    if size < 8:
        raise ValueError(f"file of {size} bytes is shorter than the header length")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_SIZE or 8 + n > size:
        raise ValueError(f"header length {n} is invalid for a file of {size} bytes")

    def no_dups(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError(f"duplicate header entry {k!r}")
            d[k] = v
        return d

    header = json.loads(bytes(data[8 : 8 + n]).decode("utf-8"), object_pairs_hook=no_dups)
    meta = header.pop("__metadata__", None) or {}
    buf_len = size - 8 - n
    spans = []
    for name, e in header.items():
        dt, shape, (b, end) = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in SIZES:
            raise ValueError(f"tensor {name!r}: unsupported dtype {dt}")
        numel = 1
        for s in shape:
            if s < 0:
                raise ValueError(f"tensor {name!r}: negative dimension in {shape}")
            numel *= s
        if not 0 <= b <= end <= buf_len or end - b != numel * SIZES[dt]:
            raise ValueError(f"tensor {name!r}: bad data_offsets {[b, end]}")
        spans.append((b, end, name))
    pos = 0
    for b, end, name in sorted(spans):
        if b != pos:
            raise ValueError(f"tensor {name!r}: data_offsets not contiguous at {b} (expected {pos})")
        pos = end
    if pos != buf_len:
        raise ValueError(f"data buffer has {buf_len} bytes, tensors cover {pos}")
    return header, meta, 8 + n


def loads(data):
    """Decode bytes from dumps (or any safetensors file of the supported dtypes)."""
    header, meta, start = _parse_header(data, len(data))
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = DTYPES[e["dtype"]]
        if end == b:
            out[name] = torch.empty(e["shape"], dtype=dt)
            continue
        raw = bytearray(data[start + b : start + end])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dt)
        if sys.byteorder == "big" and t.element_size() > 1:
            raise NotImplementedError("big-endian hosts")
        out[name] = t.reshape(e["shape"])
    return out, meta


def load(path):
    """Read a whole file: (dict name -> tensor in header order, metadata dict)."""
    with open(path, "rb") as f:
        return loads(f.read())


def read_header(path):
    """Only the header: (dict name -> {"dtype", "shape", "data_offsets"}, metadata)."""
    with open(path, "rb") as f:
        head = f.read(8)
        size = os.fstat(f.fileno()).st_size
        if len(head) < 8:
            raise ValueError(f"{path}: too short")
        (n,) = struct.unpack("<Q", head)
        if n > MAX_HEADER_SIZE or 8 + n > size:
            raise ValueError(f"{path}: header length {n} invalid for {size} bytes")
        data = head + f.read(n)
    h, meta, _ = _parse_header(data, size)
    return h, meta
