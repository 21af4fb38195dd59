"""PyTorch side of pipeline.TestExplainTorchCheckpoint (run by /usr/bin/python3).

  train MNIST_DIR OUT.safetensors   train the PyTorch twin of simplecnn-v2 for one epoch on the
                                    first 6,000 MNIST training images (seed 0) and save its
                                    state_dict: a checkpoint trained outside frpt.
  check WEIGHTS MAPS.safetensors TAP
                                    recompute from maps.safetensors' `input` with PyTorch: the
                                    forward feature at TAP (conv output, pre-activation), D =
                                    recons - forward, the three CAMs of spec §8, their bilinear
                                    upsampling (F.interpolate, align_corners=False) and min-max
                                    normalisation; print the largest relative difference of each.
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
import safetensors_io  # noqa: E402
import torch_models  # noqa: E402


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def train(mnist, out):
    torch.manual_seed(0)
    x = torch.tensor(idx(os.path.join(mnist, "train-images-idx3-ubyte.gz"))[:6000], dtype=torch.float32)
    y = torch.tensor(idx(os.path.join(mnist, "train-labels-idx1-ubyte.gz"))[:6000], dtype=torch.long)
    x = ((x / 255.0) - 0.1307) / 0.3081
    x = x.unsqueeze(1)
    m = torch_models.build("simplecnn-v2", "mnist")
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for i in range(0, len(x), 64):
        opt.zero_grad()
        F.cross_entropy(m(x[i:i + 64]), y[i:i + 64]).backward()
        opt.step()
    safetensors_io.save(out, {k: v.detach().contiguous() for k, v in m.state_dict().items()})


def cams(w_src, feat, relu):
    w = w_src.mean(dim=(2, 3), keepdim=True)
    m = (w * feat).sum(dim=1)
    if not relu:
        return m
    r = torch.relu(m)
    flat = (r.flatten(1) <= 1e-12).all(dim=1)
    r[flat] = m[flat].abs()
    return r


def minmax(m):
    lo = m.flatten(1).min(dim=1).values[:, None, None]
    hi = m.flatten(1).max(dim=1).values[:, None, None]
    span = hi - lo
    out = (m - lo) / torch.where(span > 0, span, torch.ones_like(span))
    return torch.where(span > 0, out, torch.zeros_like(out))


def check(weights, maps, tap):
    m = torch_models.build("simplecnn-v2", "mnist").double()
    sd = {k: v.double() for k, v in safetensors_io.load(weights)[0].items()}
    m.load_state_dict(sd, strict=True)
    t = {k: (v.double() if v.is_floating_point() else v) for k, v in safetensors_io.load(maps)[0].items()}
    x = t["input"]
    k = int(tap[1:])
    h = x
    for i in range(k):
        h = getattr(m, f"conv{i + 1}")(h)
        if i < k - 1:
            h = torch.relu(h)
            if m.pool_after[i]:
                h = m.pooling(h)
    fwd = h
    rel = lambda a, b: float((a - b).abs().max() / max(1.0, float(b.abs().max())))
    res = {"forward": rel(t["forward"], fwd)}
    D = t["recons"] - fwd
    res["diff"] = rel(t["diff"], D)
    ref = {"diff": cams(D, fwd, True), "recons": cams(t["recons"], t["recons"], False), "forward": cams(fwd, fwd, False)}
    H, W = x.shape[2], x.shape[3]
    for name, c in ref.items():
        res["cam_" + name] = rel(t["cam_" + name], c)
        up = F.interpolate(c[:, None], size=(H, W), mode="bilinear", align_corners=False)[:, 0]
        res["cam_" + name + "_up"] = rel(t["cam_" + name + "_up"], minmax(up))
    res["max_abs_D"] = float(D.abs().max())
    for k_, v in res.items():
        print(k_, repr(v))


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(sys.argv[2], sys.argv[3])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4])
