#!/usr/bin/python3
"""PyTorch side of checkpoint/interop_test.go (run with Debian's /usr/bin/python3).

    torch_roundtrip.py write OUT.safetensors OUT.json
        Writes the state_dict of a small nn.Sequential(Conv2d, BatchNorm2d, ReLU, Flatten,
        Linear) after one training step (so the BatchNorm running statistics and the int64
        num_batches_tracked are not at their defaults) plus "extra.*" tensors of every
        dtype, with metadata; OUT.json holds the expected values for the Go reader.
        The committed fixture torch_seq.safetensors / torch_seq.json came from this.

    torch_roundtrip.py check FILE.safetensors EXPECTED.json [FILE2 EXPECTED2.json ...]
        Reads a file written by Go and checks dtypes, shapes, values (exactly) and metadata
        against EXPECTED.json; if EXPECTED.json has "state_dict": true the tensors must also
        load with load_state_dict(strict=True) into the same nn.Sequential.

Expected-value JSON: {"metadata": {...}, "tensors": {name: {"dtype", "shape", "data"}},
"state_dict": bool}, data flattened row-major as numbers (shortest round-trip decimal,
exact for every dtype used), with "inf", "-inf" and "nan" as strings.
Several commands may follow one another in one call (torch is imported once).
Exit status 0 on success; on failure the reason is printed to stderr.
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import safetensors_io as st  # noqa: E402


def sequential():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))


def encode(v):
    """A JSON number, or "inf" / "-inf" / "nan" (JSON has no non-finite numbers)."""
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    return int(v) if isinstance(v, bool) else v


def describe(t):
    vals = [encode(v) for v in t.reshape(-1).tolist()]
    return {"dtype": st.NAMES[t.dtype], "shape": list(t.shape), "data": vals}


def write(out, out_json):
    torch.manual_seed(0)
    m = sequential()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.randn(4, 1, 4, 4)
    for _ in range(2):
        opt.zero_grad()
        m(x).square().mean().backward()
        opt.step()
    tensors = dict(m.state_dict())
    tensors.update({
        "extra.f64": torch.tensor([[1.0 / 3, -2.5e-300], [float("inf"), 7.0]], dtype=torch.float64),
        "extra.f16": torch.tensor([0.1, -65504.0, 6e-8, 1.0], dtype=torch.float16),
        "extra.bf16": torch.tensor([0.1, -3.0e38, 1.0e-40, 2.0], dtype=torch.bfloat16),
        "extra.i32": torch.tensor([-2**31, 2**31 - 1, 0], dtype=torch.int32),
        "extra.i64": torch.tensor([[-2**53, 2**53], [1, -1]], dtype=torch.int64),
        "extra.i16": torch.tensor([-32768, 32767], dtype=torch.int16),
        "extra.i8": torch.tensor([-128, 127, 3], dtype=torch.int8),
        "extra.u8": torch.tensor([0, 255, 17], dtype=torch.uint8),
        "extra.bool": torch.tensor([[True, False, True]]),
        "extra.empty": torch.zeros(0, 3),
        "extra.scalar": torch.tensor(2.5),
    })
    meta = {"format": "frpt/v1", "arch": "torch-seq", "config": json.dumps({"in": 1, "classes": 3}),
            "writer": "torch_roundtrip.py", "note": "quotes \" and unicode \u00e9"}
    st.save(out, tensors, meta)
    exp = {"metadata": meta, "tensors": {k: describe(v) for k, v in tensors.items()}, "state_dict": False}
    with open(out_json, "w") as f:
        json.dump(exp, f, indent=0)


def check(path, exp_json):
    with open(exp_json) as f:
        exp = json.load(f)
    tensors, meta = st.load(path)
    errs = []
    if meta != exp["metadata"]:
        errs.append(f"metadata {meta} != {exp['metadata']}")
    if list(tensors) != list(exp["tensors"]):
        errs.append(f"names {list(tensors)} != {list(exp['tensors'])}")
    header, _ = st.read_header(path)
    for name, e in exp["tensors"].items():
        if name not in tensors:
            continue
        t = tensors[name]
        got = describe(t)
        for k in ("dtype", "shape"):
            if got[k] != e[k]:
                errs.append(f"{name}: {k} {got[k]} != {e[k]}")
        if got["data"] != e["data"]:
            errs.append(f"{name}: data {got['data'][:6]} != {e['data'][:6]}")
        begin = header[name]["data_offsets"][0]
        if begin % t.element_size():
            errs.append(f"{name}: offset {begin} not aligned to {t.element_size()}")
    if exp.get("state_dict"):
        m = sequential()
        try:
            m.load_state_dict(tensors, strict=True)
        except RuntimeError as e:
            errs.append(f"load_state_dict: {e}")
        else:
            if m[1].num_batches_tracked.dtype != torch.int64:
                errs.append("num_batches_tracked is not int64")
    if errs:
        print("\n".join(errs), file=sys.stderr)
        sys.exit(1)
    print(f"ok {path}: {len(tensors)} tensors")


def main(args):
    """Run the commands in args in order (one process, so torch is imported once)."""
    if not args:
        sys.exit(__doc__)
    while args:
        if args[0] == "write" and len(args) >= 3:
            write(args[1], args[2])
            args = args[3:]
        elif args[0] == "check" and len(args) >= 3:
            args = args[1:]
            while len(args) >= 2 and args[0] not in ("write", "check"):
                check(args[0], args[1])
                args = args[2:]
        else:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
