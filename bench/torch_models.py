"""PyTorch twins of the frpt model zoo (package github.com/frpt/frpt/models).

Every twin has exactly the state_dict keys and shapes of the Go model's Params() (so a
checkpoint written by either side loads strictly into the other) and the same forward
computation in eval mode. models/torch_parity_test.go checks both against the Go zoo.

    build(name, dataset, **overrides) -> nn.Module

name is one of NAMES (the Go models.Names()): simplecnn-v1 … simplecnn-v5 (and the
alias "simplecnn" = v2), resnet18, resnet34, simplevit, simplevit-preln. dataset fixes
the input channels, size and number of classes as models.New does. overrides change the
configuration (for small test models), with the Go field names in lower case:
    resnet:    width (default 64), layers (e.g. [1, 1, 1, 1])
    simplevit: d, depth, heads, hidden, patch
config(name, dataset, **overrides) returns the configuration dict build uses.

Architectures (spec frpt-method.md §5):
* SimpleCNN: stride-1 unpadded Conv2d with bias, activation, 2×2 max-pool after every
  conv but the last (after every one for MNIST), flatten in NCHW order, fc1[, act, fc2].
  Children conv1…convL, fc1[, fc2], pooling. Xavier-uniform weights, default biases.
* ResNet-18/34: torchvision BasicBlock ResNet; CIFAR stem (3×3 s1 p1, no max-pool) for
  CIFAR-10/100, the 7×7 s2 p3 stem + 3×3 s2 p1 max-pool otherwise; BatchNorm eps 1e-5.
* SimpleViT: patch conv (kernel = stride = patch) → tokens, CLS prepended, positional
  embedding added; blocks u = x + MHA(x), y = u + fc2(GELU(fc1(u))) (GELU erf form), or
  pre-LN (simplevit-preln: LayerNorm eps 1e-6 before MHA and MLP); head on the CLS token.
  MHA is nn.MultiheadAttention(d, heads, batch_first=True) (in_proj_weight,
  in_proj_bias, out_proj.*).

The Go side orders a module's parameters before its children's where PyTorch lists a
module's own parameters first (TokenEmbed: Go proj.* then cls_token, pos_embed); the
key sets are identical, only state_dict order differs there.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NAMES = ["simplecnn-v1", "simplecnn-v2", "simplecnn-v3", "simplecnn-v4", "simplecnn-v5",
         "resnet18", "resnet34", "simplevit", "simplevit-preln"]

# dataset -> (channels, size, classes), as data.InputShape / data.NumClasses.
DATASETS = {
    "mnist": (1, 28, 10),
    "fashion-mnist": (1, 28, 10),
    "cifar10": (3, 32, 10),
    "cifar100": (3, 32, 100),
    "imagenette": (3, 224, 10),
    "imagewoof": (3, 224, 10),
    "tiny-imagenet": (3, 64, 200),
}

# SimpleCNN conv stacks (out channels, kernel) per dataset family and version (§5.1).
_SIMPLECNN = {
    "mnist": {1: [(2, 5), (4, 5)], 2: [(3, 5), (3, 5)]},
    "cifar10": {1: [(5, 5), (10, 3), (15, 3)], 2: [(10, 5), (10, 3), (10, 3)], 3: [(15, 5), (10, 3), (5, 3)],
                4: [(5, 5), (10, 3), (15, 3)], 5: [(15, 5), (10, 3), (5, 3)]},
    "cifar100": {1: [(10, 5), (15, 3), (20, 3)], 2: [(18, 5), (18, 3), (18, 3)]},
    "tiny-imagenet": {1: [(10, 5), (25, 3), (35, 3), (45, 3)], 2: [(45, 5), (45, 3), (45, 3), (45, 3)]},
    "imagenette": {1: [(10, 25), (15, 17), (20, 11), (25, 5), (30, 3)],
                   2: [(16, 25), (16, 17), (16, 11), (16, 5), (16, 3)]},
}
_HIDDEN = {"cifar10": 128, "cifar100": 256, "tiny-imagenet": 512, "imagenette": 128}
_FAMILY = {"fashion-mnist": "mnist", "imagewoof": "imagenette"}


def _dataset(dataset):
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r} (known: {', '.join(DATASETS)})")
    return DATASETS[dataset]


def _act(name):
    return torch.tanh if name == "tanh" else F.relu


class SimpleCNN(nn.Module):
    """The paper's small CNN (models.SimpleCNN)."""

    def __init__(self, in_ch, size, convs, pool_last, hidden, classes, activation="relu"):
        super().__init__()
        self.activation = activation
        self.pool_after = []
        c = in_ch
        for i, (out, k) in enumerate(convs):
            conv = nn.Conv2d(c, out, k)  # stride 1, padding 0, bias
            nn.init.xavier_uniform_(conv.weight)
            setattr(self, f"conv{i + 1}", conv)
            size = size - k + 1
            pool = i < len(convs) - 1 or pool_last
            if pool:
                size //= 2
            self.pool_after.append(pool)
            c = out
        self.n_conv = len(convs)
        flat = c * size * size
        if hidden > 0:
            self.fc1 = nn.Linear(flat, hidden)
            self.fc2 = nn.Linear(hidden, classes)
            nn.init.xavier_uniform_(self.fc2.weight)
        else:
            self.fc1 = nn.Linear(flat, classes)
            self.fc2 = None
        nn.init.xavier_uniform_(self.fc1.weight)
        self.pooling = nn.MaxPool2d(2, 2)

    def forward(self, x):
        act = _act(self.activation)
        for i in range(self.n_conv):
            x = act(getattr(self, f"conv{i + 1}")(x))
            if self.pool_after[i]:
                x = self.pooling(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        if self.fc2 is not None:
            x = self.fc2(act(x))
        return x


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (nn.BasicBlock)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        sc = x if self.downsample is None else self.downsample(x)
        return self.relu(out + sc)


class ResNet(nn.Module):
    """torchvision-style ResNet-18/34 with BasicBlocks (models.ResNet)."""

    def __init__(self, layers, in_ch, classes, cifar_stem, width=64):
        super().__init__()
        w = width
        if cifar_stem:
            self.conv1 = nn.Conv2d(in_ch, w, 3, 1, 1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_ch, w, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        self.relu = nn.ReLU()
        self.maxpool = nn.Identity() if cifar_stem else nn.MaxPool2d(3, 2, 1)
        cin = w
        for s in range(4):
            cout = w << s
            blocks = []
            for b in range(layers[s]):
                blocks.append(BasicBlock(cin, cout, 2 if (b == 0 and s > 0) else 1))
                cin = cout
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class TokenEmbed(nn.Module):
    """Patch projection, CLS token and positional embedding (models.TokenEmbed)."""

    def __init__(self, in_ch, d, patch, tokens):
        super().__init__()
        self.proj = nn.Conv2d(in_ch, d, patch, patch)
        nn.init.xavier_uniform_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)
        self.cls_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens + 1, d) * 0.02)

    def forward(self, x):
        t = self.proj(x).flatten(2).transpose(1, 2)  # [N, L, D], token i*(W/p)+j = patch (i, j)
        cls = self.cls_token.expand(t.shape[0], -1, -1)
        return torch.cat([cls, t], dim=1) + self.pos_embed


class Block(nn.Module):
    """Transformer block without norms, or pre-LN (models.Block)."""

    def __init__(self, d, heads, hidden, preln):
        super().__init__()
        if preln:
            self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        if preln:
            self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)
        self.act = nn.GELU()  # approximate="none": the erf form
        self.preln = preln
        for lin in (self.fc1, self.fc2, self.attn.out_proj):
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x):
        h = self.norm1(x) if self.preln else x
        u = x + self.attn(h, h, h, need_weights=False)[0]
        h = self.norm2(u) if self.preln else u
        return u + self.fc2(self.act(self.fc1(h)))


class SimpleViT(nn.Module):
    """The paper's SimpleViT (models.SimpleViT); head on the CLS token, no final norm."""

    def __init__(self, in_ch, size, patch, d, depth, heads, hidden, classes, preln=False):
        super().__init__()
        tokens = (size // patch) ** 2
        self.token_embed = TokenEmbed(in_ch, d, patch, tokens)
        self.depth = depth
        for i in range(depth):
            setattr(self, f"block{i + 1}", Block(d, heads, hidden, preln))
        self.head = nn.Linear(d, classes)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x):
        h = self.token_embed(x)
        for i in range(self.depth):
            h = getattr(self, f"block{i + 1}")(h)
        return self.head(h[:, 0])


def config(name, dataset, **overrides):
    """The configuration of a zoo model for a dataset (models.SimpleCNNFor / ResNetFor /
    ViTFor), with overrides applied."""
    in_ch, size, classes = _dataset(dataset)
    if name == "simplecnn" or name.startswith("simplecnn-v"):
        v = 2 if name == "simplecnn" else int(name[len("simplecnn-v"):])
        fam = _FAMILY.get(dataset, dataset)
        if v not in _SIMPLECNN.get(fam, {}):
            raise ValueError(f"simplecnn-v{v} is not defined for {dataset} (spec §5.1)")
        hidden = 0 if fam == "mnist" else _HIDDEN[fam]
        if fam == "cifar10" and v in (4, 5):
            hidden = 64
        cfg = dict(kind="simplecnn", in_ch=in_ch, size=size, convs=_SIMPLECNN[fam][v], pool_last=fam == "mnist",
                   hidden=hidden, classes=classes, activation="relu")
    elif name in ("resnet18", "resnet34"):
        cfg = dict(kind="resnet", layers=[2, 2, 2, 2] if name == "resnet18" else [3, 4, 6, 3], in_ch=in_ch,
                   classes=classes, cifar_stem=dataset in ("cifar10", "cifar100"), width=64)
    elif name in ("simplevit", "simplevit-preln"):
        patch = {28: 4, 32: 4, 64: 8, 224: 16}[size]
        cfg = dict(kind="simplevit", in_ch=in_ch, size=size, patch=patch, d=192, depth=9, heads=12, hidden=384,
                   classes=classes, preln=name == "simplevit-preln")
    else:
        raise ValueError(f"unknown model {name!r} (models: {', '.join(NAMES)})")
    for k, v in overrides.items():
        if k not in cfg or k == "kind":
            raise ValueError(f"{name}: unknown override {k!r}")
        cfg[k] = v
    return cfg


def build(name, dataset, **overrides):
    """The PyTorch twin of models.New(name, dataset) (with optional config overrides)."""
    cfg = dict(config(name, dataset, **overrides))
    kind = cfg.pop("kind")
    if kind == "simplecnn":
        return SimpleCNN(**cfg)
    if kind == "resnet":
        return ResNet(**cfg)
    return SimpleViT(**cfg)


def defined(name, dataset):
    """Whether the zoo defines name for dataset (models.New succeeds)."""
    try:
        config(name, dataset)
        return True
    except ValueError:
        return False


if __name__ == "__main__":
    for n in NAMES:
        m = build(n, "cifar10")
        print(f"{n:16s} cifar10 {sum(p.numel() for p in m.parameters()):>10,d} parameters, "
              f"{len(m.state_dict())} state_dict entries")
