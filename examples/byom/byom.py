"""Bring your own model: the PyTorch side of frpt's worked example (run with /usr/bin/python3).

The network below is an ordinary PyTorch module written for this example; it is not one
of frpt's zoo models. It has what frpt's ONNX import handles: Conv + BatchNorm + ReLU, a
residual block (two convolutions, a fork and an Add), two stride-2 convolutions, global
average pooling written as a mean over the spatial axes (ReduceMean in ONNX) and a Linear
head.

  byom.py train MNIST_DIR OUT [--images N] [--epochs E] [--seed S]
      train the module briefly on the first N MNIST training images, export it with
      torch.onnx.export(..., do_constant_folding=False, training=TrainingMode.PRESERVE)
      to OUT/model.onnx, save its state_dict (num_batches_tracked included) to
      OUT/model.safetensors and its test accuracy (eval mode, 10,000 images) to
      OUT/torch-eval.json.
  byom.py eval MNIST_DIR WEIGHTS.safetensors [--json OUT.json]
      load a state_dict (for instance the post-trained weights `frpt posttrain --save`
      wrote) into the module with load_state_dict(strict=True) and print its test
      accuracy; with --json also write {"correct", "total", "accuracy"}.

MNIST_DIR holds the IDX files (train-images-idx3-ubyte.gz, ...); `frpt info --datasets`
prints the folder frpt reads. Images are normalised exactly as frpt does it,
(v / 255 - 0.1307) * (1 / 0.3081) in float32, so that the two programs see the same
bits and their accuracies can be compared sample for sample.
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import safetensors_io  # noqa: E402


class Net(nn.Module):
    """A small residual CNN for 1x28x28 images."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.res_conv1 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.res_bn1 = nn.BatchNorm2d(16)
        self.res_conv2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.res_bn2 = nn.BatchNorm2d(16)
        self.down = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.down_bn = nn.BatchNorm2d(32)
        self.down2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.down2_bn = nn.BatchNorm2d(32)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.stem(x)
        r = F.relu(self.res_bn1(self.res_conv1(h)))
        h = F.relu(h + self.res_bn2(self.res_conv2(r)))
        h = F.relu(self.down_bn(self.down(h)))  # 28x28 -> 14x14
        h = F.relu(self.down2_bn(self.down2(h)))  # 14x14 -> 7x7
        return self.head(h.mean(dim=(2, 3)))


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(folder, split):
    prefix = "train" if split == "train" else "t10k"
    v = idx(os.path.join(folder, prefix + "-images-idx3-ubyte.gz")).astype(np.float32)
    x = v * np.float32(1.0 / 255)
    x = (x - np.float32(0.1307)) * (np.float32(1) / np.float32(0.3081))
    y = idx(os.path.join(folder, prefix + "-labels-idx1-ubyte.gz")).astype(np.int64)
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)


def accuracy(m, x, y):
    m.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), 500):
            correct += int((m(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum())
    return {"correct": correct, "total": len(x), "accuracy": correct / len(x)}


def train(args):
    torch.manual_seed(args.seed)
    x, y = mnist(args.mnist, "train")
    x, y = x[:args.images], y[:args.images]
    m = Net()
    opt = torch.optim.Adam(m.parameters(), lr=2e-3)
    for _ in range(args.epochs):
        m.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            F.cross_entropy(m(x[b]), y[b]).backward()
            opt.step()
    os.makedirs(args.out, exist_ok=True)
    # Exporting in training mode traces one training-mode forward pass, which updates
    # BatchNorm's running statistics (and num_batches_tracked): the initializers hold the
    # updated values, so the state_dict and the accuracy are taken after the export.
    m.train()
    torch.onnx.export(m, x[:8], os.path.join(args.out, "model.onnx"), do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, opset_version=14,
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "N"}, "logits": {0: "N"}})
    safetensors_io.save(os.path.join(args.out, "model.safetensors"),
                        {k: v.detach().contiguous() for k, v in m.state_dict().items()})
    xt, yt = mnist(args.mnist, "test")
    res = accuracy(m, xt, yt)
    with open(os.path.join(args.out, "torch-eval.json"), "w") as f:
        json.dump(res, f)
    print("PyTorch test accuracy %.2f%% (%d/%d); wrote %s/model.onnx, model.safetensors, torch-eval.json"
          % (100 * res["accuracy"], res["correct"], res["total"], args.out))


def evaluate(args):
    m = Net()
    sd, _ = safetensors_io.load(args.weights)
    m.load_state_dict({k: torch.as_tensor(v) for k, v in sd.items()}, strict=True)
    xt, yt = mnist(args.mnist, "test")
    res = accuracy(m, xt, yt)
    print("PyTorch test accuracy of %s: %.2f%% (%d/%d)" % (args.weights, 100 * res["accuracy"], res["correct"], res["total"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train")
    t.add_argument("mnist")
    t.add_argument("out")
    t.add_argument("--images", type=int, default=12000)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("eval")
    e.add_argument("mnist")
    e.add_argument("weights")
    e.add_argument("--json", default="")
    args = p.parse_args()
    torch.set_num_threads(2)
    {"train": train, "eval": evaluate}[args.cmd](args)


if __name__ == "__main__":
    main()
