"""ONNX fixtures for package onnx's tests, exported by PyTorch (run with /usr/bin/python3).

    fixtures.py OUTDIR

writes, for every model below, OUTDIR/NAME.onnx (torch.onnx.export with
do_constant_folding=False and training=TrainingMode.PRESERVE, dynamic batch), its
state_dict as OUTDIR/NAME.state.safetensors (num_batches_tracked included) and
OUTDIR/NAME.io.safetensors with a batch of inputs "x" and the module's eval-mode logits
"logits" (before any final softmax). Models (none is in frpt's zoo except the last two):

* byom:     conv+BN+ReLU, a residual block (conv+BN, Add, ReLU), a stride-2 conv+BN+ReLU,
            mean over (2, 3), Dropout, x.reshape(N, -1), Linear; exported in training
            mode (BatchNorm and Dropout in training form), opset 14.
* byom-eval the same module exported in eval mode.
* acts:     LeakyReLU, AvgPool, padded conv, Sigmoid, overlapping padded MaxPool, Tanh,
            flatten, Linear, GELU (Erf form), BatchNorm1d, Linear, Softmax; opset 11.
* matmul:   Flatten, unsqueeze, nn.Linear on 3-D input (MatMul + Transpose + Add),
            squeeze, ReLU, x @ W + b with W [in, out]; opset 13 (Unsqueeze axes as input).
* simplecnn-v2 (MNIST) and resnet18 (MNIST) from bench/torch_models.py, eval mode.

BatchNorm statistics and affine parameters are randomised so that eval mode differs
from the initial state; the seed is fixed.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import safetensors_io as st  # noqa: E402
import torch_models as tm  # noqa: E402


class BYOM(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.b1 = nn.BatchNorm2d(8)
        self.c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(8)
        self.c3 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.b3 = nn.BatchNorm2d(16)
        self.drop = nn.Dropout(0.1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        h = F.relu(self.b1(self.c1(x)))
        h = F.relu(h + self.b2(self.c2(h)))
        h = F.relu(self.b3(self.c3(h)))
        h = self.drop(h.mean(dim=(2, 3)))
        return self.fc(h.reshape(h.shape[0], -1))


class Acts(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 5)
        self.c2 = nn.Conv2d(4, 6, 3, padding=1)
        self.c3 = nn.Conv2d(6, 6, 3)
        self.fc1 = nn.Linear(6 * 4 * 4, 32)
        self.bn = nn.BatchNorm1d(32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        h = F.avg_pool2d(F.leaky_relu(self.c1(x), 0.2), 2)          # 24 -> 12
        h = F.max_pool2d(torch.sigmoid(self.c2(h)), 3, 2, 1)         # 12 -> 6
        h = torch.tanh(self.c3(h))                                   # 6 -> 4
        h = F.gelu(self.fc1(torch.flatten(h, 1)))
        return F.softmax(self.fc2(self.bn(h)), dim=1)


class MatMul(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(784, 20)
        self.W = nn.Parameter(torch.randn(20, 10) * 0.2)
        self.b = nn.Parameter(torch.randn(10) * 0.1)

    def forward(self, x):
        h = self.fc(torch.flatten(x, 1).unsqueeze(1)).squeeze(1)
        return F.relu(h) @ self.W + self.b


def randomise_bn(m, gen):
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
            mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)
            mod.num_batches_tracked.fill_(int(torch.randint(1, 1000, (1,), generator=gen)))


def export(name, m, shape, outdir, train_mode=False, opset=14, batch=6):
    gen = torch.Generator().manual_seed(len(name))
    x = torch.randn(batch, *shape, generator=gen)
    m.train(train_mode)
    # Exporting in training mode traces one training-mode forward pass, which updates
    # BatchNorm's running statistics (and num_batches_tracked); the initializers hold the
    # updated values, so the reference logits and the state_dict are taken afterwards.
    torch.onnx.export(m, x, os.path.join(outdir, name + ".onnx"), do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, opset_version=opset,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    m.eval()
    with torch.no_grad():
        logits = m(x)
        if name == "acts":  # the module ends in a softmax; frpt compares logits
            logits = m.fc2(m.bn(F.gelu(m.fc1(torch.flatten(torch.tanh(m.c3(F.max_pool2d(torch.sigmoid(
                m.c2(F.avg_pool2d(F.leaky_relu(m.c1(x), 0.2), 2))), 3, 2, 1))), 1)))))
    st.save(os.path.join(outdir, name + ".state.safetensors"), m.state_dict())
    st.save(os.path.join(outdir, name + ".io.safetensors"), {"x": x, "logits": logits})


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    byom = BYOM()
    randomise_bn(byom, gen)
    export("byom", byom, (1, 28, 28), outdir, train_mode=True)
    export("byom-eval", byom, (1, 28, 28), outdir)
    acts = Acts()
    randomise_bn(acts, gen)
    export("acts", acts, (1, 28, 28), outdir, opset=11)
    export("matmul", MatMul(), (1, 28, 28), outdir, opset=13)
    for zoo in ["simplecnn-v2", "resnet18"]:
        m = tm.build(zoo, "mnist")
        randomise_bn(m, gen)
        export(zoo, m, (1, 28, 28), outdir, batch=16)


if __name__ == "__main__":
    main()
