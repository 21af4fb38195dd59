#!/usr/bin/python3
"""PyTorch side of models/torch_parity_test.go: fixtures comparing the Go zoo with its
PyTorch twins (bench/torch_models.py). Run with Debian's /usr/bin/python3 (it has torch).

    make_fixtures.py committed [--out DIR]
        The small fixtures committed in models/testdata (default DIR: this folder):
        *.safetensors (weights), *.io.safetensors (inputs and PyTorch logits) and
        torch_state_dict_keys.json (state_dict keys and shapes of representative models).
    make_fixtures.py gen --out DIR [--seed S] [--n N] TAG=MODEL:DATASET[:OVERRIDES] ...
        For each spec, a randomly initialised twin (fixed seed) with non-trivial
        parameters (see perturb) saved as DIR/TAG.safetensors (metadata: arch, dataset,
        overrides JSON), and DIR/TAG.io.safetensors with "input" (F32 [N, C, H, W]),
        "logits32" (F32, the float32 eval-mode forward) and "logits64" (F64, the same
        weights and inputs in float64).
    make_fixtures.py forward --dir DIR TAG ...
        The reverse direction: loads DIR/TAG.safetensors written by Go strictly
        (load_state_dict(strict=True), after checking the key sets and shapes) into the
        twin named by its metadata, runs DIR/TAG.io.safetensors' "input" through it in
        float32 and float64 and writes DIR/TAG.torch.safetensors ("logits32", "logits64").
    make_fixtures.py keys --out FILE [--all]
        State_dict keys and shapes, JSON {"MODEL/DATASET": [[key, shape], ...]}, of the
        representative combinations (or of every zoo model × every dataset it is defined
        for, with --all).

OVERRIDES is a JSON object of configuration overrides for small models, e.g.
{"width":2,"layers":[1,1,1,1]} for a ResNet or {"d":16,"depth":2,"heads":4,"hidden":32}
for a SimpleViT (bench/torch_models.py: config).
"""
import argparse
import copy
import json
import os
import sys

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import safetensors_io as st  # noqa: E402
import torch_models  # noqa: E402

# Committed fixtures: (tag, model, dataset, overrides, batch). Together well under 300 KB.
COMMITTED = [
    ("simplecnn-v2-mnist", "simplecnn-v2", "mnist", {}, 4),
    ("resnet-tiny-mnist", "resnet18", "mnist", {"width": 2, "layers": [1, 1, 1, 1]}, 4),
    ("resnet-tiny-cifar10", "resnet18", "cifar10", {"width": 2, "layers": [1, 1, 1, 1]}, 2),
    ("vit-tiny-cifar10", "simplevit", "cifar10", {"d": 16, "depth": 2, "heads": 4, "hidden": 32}, 2),
    ("vit-preln-tiny-mnist", "simplevit-preln", "mnist", {"d": 12, "depth": 2, "heads": 3, "hidden": 24, "patch": 7}, 4),
]

# Representative model/dataset pairs for the committed key list.
REPRESENTATIVE = [
    ("simplecnn-v1", "mnist"), ("simplecnn-v2", "mnist"),
    ("simplecnn-v1", "cifar10"), ("simplecnn-v2", "cifar10"), ("simplecnn-v3", "cifar10"),
    ("simplecnn-v4", "cifar10"), ("simplecnn-v5", "cifar10"), ("simplecnn-v2", "cifar100"),
    ("simplecnn-v2", "tiny-imagenet"), ("simplecnn-v2", "imagenette"),
    ("resnet18", "cifar10"), ("resnet18", "mnist"), ("resnet34", "imagenette"),
    ("simplevit", "cifar100"), ("simplevit-preln", "tiny-imagenet"),
]


def perturb(model, gen, in_ch, size):
    """Make every parameter matter: BatchNorm running statistics from a train-mode pass
    over a random batch (momentum 1), then scaled/shifted at random; norm weights
    U(0.5, 1.5); every bias N(0, 0.1²); cls_token and pos_embed N(0, 0.5²) (a large
    positional embedding makes the token order visible through attention);
    num_batches_tracked 7. models/torch_parity_test.go (perturbGo) applies the same rules."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    if bns:
        x = torch.randn(8, in_ch, size, size, generator=gen)
        for bn in bns:
            bn.momentum = 1.0
        model.train()
        with torch.no_grad():
            model(x)
        for bn in bns:
            bn.momentum = 0.1
    model.eval()
    norm_weights = set()
    for mname, m in model.named_modules():
        if isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            norm_weights.add(mname + ".weight")
    with torch.no_grad():
        for name, t in model.state_dict(keep_vars=True).items():
            if name.endswith("num_batches_tracked"):
                t.fill_(7)
            elif name.endswith("running_var"):
                t.mul_(torch.exp(torch.empty(t.shape).uniform_(-0.7, 0.7, generator=gen)))
            elif name.endswith("running_mean"):
                t.add_(0.1 * torch.randn(t.shape, generator=gen))
            elif name in norm_weights:
                t.copy_(torch.empty(t.shape).uniform_(0.5, 1.5, generator=gen))
            elif name.endswith("bias"):
                t.copy_(0.1 * torch.randn(t.shape, generator=gen))
            elif name.endswith("cls_token") or name.endswith("pos_embed"):
                t.copy_(0.5 * torch.randn(t.shape, generator=gen))


def logits(model, x):
    """Eval-mode logits in float32 and float64 (a float64 copy of the same weights)."""
    model.eval()
    with torch.no_grad():
        l32 = model(x.float())
        m64 = copy.deepcopy(model).double()
        l64 = m64(x.double())
    return l32.float().contiguous(), l64.double().contiguous()


def parse_spec(spec):
    tag, rest = spec.split("=", 1)
    parts = rest.split(":", 2)
    ov = json.loads(parts[2]) if len(parts) > 2 and parts[2] else {}
    return tag, parts[0], parts[1], ov


def gen_one(out, tag, name, dataset, ov, seed, n):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = torch_models.build(name, dataset, **ov)
    in_ch, size, _ = torch_models.DATASETS[dataset]
    perturb(model, gen, in_ch, size)
    x = torch.randn(n, in_ch, size, size, generator=gen)
    l32, l64 = logits(model, x)
    meta = {"format": "frpt/v1", "arch": name, "dataset": dataset, "overrides": json.dumps(ov, sort_keys=True),
            "seed": str(seed), "source": "models/testdata/make_fixtures.py (PyTorch " + torch.__version__ + ")"}
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    st.save(os.path.join(out, tag + ".safetensors"), sd, meta)
    st.save(os.path.join(out, tag + ".io.safetensors"), {"input": x.contiguous(), "logits32": l32, "logits64": l64},
            {"arch": name, "dataset": dataset})
    print(f"{tag}: {name} on {dataset} {ov or ''}: logits {tuple(l32.shape)}, |max| {l64.abs().max().item():.4g}, "
          f"float32 vs float64 {(l32.double() - l64).abs().max().item():.3g}", file=sys.stderr)


def forward_one(d, tag):
    path = os.path.join(d, tag + ".safetensors")
    sd, meta = st.load(path)
    ov = json.loads(meta.get("overrides") or "{}")
    model = torch_models.build(meta["arch"], meta["dataset"], **ov)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    got = {k: tuple(v.shape) for k, v in sd.items()}
    if want != got:
        missing = sorted(set(want) - set(got))
        unexpected = sorted(set(got) - set(want))
        shapes = sorted(f"{k}: file {got[k]}, twin {want[k]}" for k in set(want) & set(got) if want[k] != got[k])
        raise SystemExit(f"{path}: state_dict differs from the PyTorch twin: missing {missing}, "
                         f"unexpected {unexpected}, shapes {shapes}")
    for k, v in sd.items():
        if v.dtype.is_floating_point and v.dtype != torch.float32:
            raise SystemExit(f"{path}: tensor {k} has dtype {v.dtype}, want float32")
    model.load_state_dict(sd, strict=True)
    io, _ = st.load(os.path.join(d, tag + ".io.safetensors"))
    l32, l64 = logits(model, io["input"])
    st.save(os.path.join(d, tag + ".torch.safetensors"), {"logits32": l32, "logits64": l64})


def keys(combos):
    out = {}
    for name, ds in combos:
        sd = torch_models.build(name, ds).state_dict()
        out[f"{name}/{ds}"] = [[k, list(v.shape)] for k, v in sd.items()]
    return out


def write_keys(path, combos):
    k = keys(combos)
    lines = [json.dumps(c, separators=(",", ":")) + ":" + json.dumps(v, separators=(",", ":")) for c, v in k.items()]
    with open(path + ".tmp", "w") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(path + ".tmp", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("committed")
    c.add_argument("--out", default=HERE)
    g = sub.add_parser("gen")
    g.add_argument("--out", required=True)
    g.add_argument("--seed", type=int, default=1234)
    g.add_argument("--n", type=int, default=4)
    g.add_argument("specs", nargs="+")
    f = sub.add_parser("forward")
    f.add_argument("--dir", required=True)
    f.add_argument("tags", nargs="+")
    k = sub.add_parser("keys")
    k.add_argument("--out", required=True)
    k.add_argument("--all", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)

    if args.cmd == "committed":
        for i, (tag, name, ds, ov, n) in enumerate(COMMITTED):
            gen_one(args.out, tag, name, ds, ov, 100 + i, n)
        write_keys(os.path.join(args.out, "torch_state_dict_keys.json"), REPRESENTATIVE)
    elif args.cmd == "gen":
        for spec in args.specs:
            tag, name, ds, ov = parse_spec(spec)
            gen_one(args.out, tag, name, ds, ov, args.seed, args.n)
    elif args.cmd == "forward":
        for tag in args.tags:
            forward_one(args.dir, tag)
    elif args.cmd == "keys":
        combos = REPRESENTATIVE
        if args.all:
            combos = [(n, d) for n in torch_models.NAMES for d in torch_models.DATASETS if torch_models.defined(n, d)]
        write_keys(args.out, combos)


if __name__ == "__main__":
    main()
