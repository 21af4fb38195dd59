"""Reference outputs from PyTorch for nn/torchref_test.go.

Run from the repository root:  python3 nn/testdata/torchref.py nn/testdata/torchref.json
The output maps names to {"shape": [...], "data": [...]} (float64, row-major). Inputs are
drawn here with a fixed seed and stored too, so the Go test needs only the JSON.
"""
import json
import sys

import torch
from torch import nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_default_dtype(torch.float64)
out = {}


def put(name, t):
    t = torch.as_tensor(t, dtype=torch.float64).detach()
    out[name] = {"shape": list(t.shape), "data": [float(v) for v in t.reshape(-1).tolist()]}


# Activations, on a grid with the kinks (−3, −2, −1, 0, 1, 1.5, 3, 6, the Softplus
# threshold at 10 for β = 2) and beyond. Parameters must match torchref_test.go.
x = torch.cat([torch.linspace(-7, 7, 29), torch.tensor([-2.0, 1.5, 10.0, 12.0, 25.0, -0.3, 0.2])])
w = torch.randn_like(x)
put("act.x", x)
put("act.w", w)
acts = {
    "relu": nn.ReLU(),
    "relu6": nn.ReLU6(),
    "leakyrelu": nn.LeakyReLU(0.1),
    "hardtanh": nn.Hardtanh(-2.0, 1.5),
    "tanh": nn.Tanh(),
    "sigmoid": nn.Sigmoid(),
    "hardsigmoid": nn.Hardsigmoid(),
    "elu": nn.ELU(0.7),
    "softplus": nn.Softplus(beta=2.0),
    "gelu": nn.GELU(),
    "silu": nn.SiLU(),
    "hardswish": nn.Hardswish(),
}
for name, m in acts.items():
    xx = x.clone().requires_grad_()
    y = m(xx)
    (y * w).sum().backward()
    put(f"act.{name}.y", y)
    put(f"act.{name}.dx", xx.grad)

# LayerNorm over the last dim.
ln = nn.LayerNorm(6, eps=1e-5)
with torch.no_grad():
    ln.weight.normal_()
    ln.bias.normal_()
x = (torch.randn(2, 3, 6) * 2 + 0.5).requires_grad_()
y = ln(x)
w = torch.randn_like(y)
(y * w).sum().backward()
for k, v in [("x", x), ("w", w), ("y", y), ("weight", ln.weight), ("bias", ln.bias),
             ("dx", x.grad), ("dweight", ln.weight.grad), ("dbias", ln.bias.grad)]:
    put("ln." + k, v)

# Self-attention, batch_first, no mask, no dropout; biases made non-zero.
mha = nn.MultiheadAttention(8, 2, batch_first=True)
with torch.no_grad():
    mha.in_proj_bias.normal_()
    mha.out_proj.bias.normal_()
x = torch.randn(2, 5, 8).requires_grad_()
y, _ = mha(x, x, x, need_weights=False)
w = torch.randn_like(y)
(y * w).sum().backward()
put("mha.x", x)
put("mha.w", w)
put("mha.y", y)
put("mha.dx", x.grad)
for k, p in mha.state_dict().items():
    put("mha." + k, p)
for k, p in mha.named_parameters():
    put("mha.d." + k, p.grad)

# Patch embedding: conv(kernel = stride = 4) → flatten(2) → transpose(1, 2); 9×8 input
# leaves one unused row.
conv = nn.Conv2d(3, 6, 4, stride=4)
x = torch.randn(2, 3, 9, 8).requires_grad_()
y = conv(x).flatten(2).transpose(1, 2)
w = torch.randn_like(y)
(y * w).sum().backward()
for k, v in [("x", x), ("w", w), ("y", y), ("weight", conv.weight), ("bias", conv.bias),
             ("dx", x.grad), ("dweight", conv.weight.grad), ("dbias", conv.bias.grad)]:
    put("patch." + k, v)

# Cross-entropy with and without label smoothing.
logits = (torch.randn(4, 5) * 2).requires_grad_()
labels = torch.tensor([0, 3, 4, 1])
put("ce.logits", logits)
put("ce.labels", labels)
for s in (0.0, 0.1):
    logits.grad = None
    loss = F.cross_entropy(logits, labels, label_smoothing=s)
    loss.backward()
    put(f"ce.s{s}.loss", loss)
    put(f"ce.s{s}.dlogits", logits.grad)

# Optimisers: two groups, fixed gradient sequence of 4 steps.
wt0, b0 = torch.randn(3, 4), torch.randn(4)
grads = [(torch.randn(3, 4), torch.randn(4)) for _ in range(4)]
put("opt.w0", wt0)
put("opt.b0", b0)
for t, (gw, gb) in enumerate(grads):
    put(f"opt.gw{t}", gw)
    put(f"opt.gb{t}", gb)


def run(name, make):
    wt = nn.Parameter(wt0.clone())
    b = nn.Parameter(b0.clone())
    opt = make([{"params": [wt], "lr": 0.01, "weight_decay": 0.1},
                {"params": [b], "lr": 0.03, "weight_decay": 0.0}])
    for t, (gw, gb) in enumerate(grads):
        wt.grad, b.grad = gw.clone(), gb.clone()
        opt.step()
        put(f"opt.{name}.w{t}", wt)
        put(f"opt.{name}.b{t}", b)


run("adamw", lambda g: torch.optim.AdamW(g))
run("sgd", lambda g: torch.optim.SGD(g, lr=0.01, momentum=0.9))
run("nesterov", lambda g: torch.optim.SGD(g, lr=0.01, momentum=0.9, nesterov=True))

# Schedules.
p = nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.1)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3)
lrs = [opt.param_groups[0]["lr"]]
for _ in range(10):
    opt.step()
    sched.step()
    lrs.append(opt.param_groups[0]["lr"])
put("cosine.lrs", lrs)

opt = torch.optim.SGD([p], lr=1e-3)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=3, min_lr=1e-6)
metrics = [0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.60005, 0.61, 0.61, 0.61, 0.61, 0.61, 0.7,
           0.69, 0.69, 0.69, 0.69] + [0.69] * 40
lrs = []
for m in metrics:
    sched.step(m)
    lrs.append(opt.param_groups[0]["lr"])
put("plateau.metrics", metrics)
put("plateau.lrs", lrs)

with open(sys.argv[1], "w") as f:
    json.dump(out, f, indent=0, sort_keys=True)
    f.write("\n")
