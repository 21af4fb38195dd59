#!/usr/bin/python3
"""PyTorch side of `frpt bench`: the same rows, measured with PyTorch CPU on this machine.

Run with Debian's interpreter (the python3 first on PATH may lack torch):
    /usr/bin/python3 bench/torch_bench.py --json out.json [row-prefix ...]
Uses 2 threads (torch.set_num_threads(2)), median time per call after a warm-up.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_models  # noqa: E402  (the frpt zoo in PyTorch, same state_dict names)

INPUT = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32), "cifar100": (3, 32, 32)}


def measure(budget, step):
    step()
    ts = []
    start = time.perf_counter()
    while len(ts) < 3 or (time.perf_counter() - start < budget and len(ts) < 1000):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def train_step(model, dataset, batch, budget):
    m = torch_models.build(model, dataset)
    m.train()
    x = torch.randn(batch, *INPUT[dataset])
    with torch.no_grad():
        k = m(x[:1]).shape[-1]
    y = torch.randint(0, k, (batch,))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn(m(x), y)
        loss.backward()
        opt.step()

    sec = measure(budget, step)
    return {"name": f"train/{model}-{dataset}/b{batch}", "value": batch / sec, "unit": "images/s"}


def mnist_epoch(batch, budget):
    """One training epoch of SimpleCNN v2 on real MNIST the way the authors' code feeds it:
    torchvision's MNIST dataset with ToTensor + Normalize(0.1307, 0.3081) per sample,
    DataLoader(batch, shuffle=True), AdamW, cross-entropy; after one warm-up epoch."""
    import gzip
    import shutil
    import tempfile
    src = os.environ.get("FRPT_MNIST_DIR")
    if not src:
        raise SystemExit("epoch row: FRPT_MNIST_DIR is not set (frpt bench --torch sets it)")
    try:
        import torchvision
        from torchvision import transforms
    except ImportError:
        raise SystemExit("epoch row: needs Debian's python3-torchvision")
    root = tempfile.mkdtemp(prefix="frpt-mnist-")
    try:
        raw = os.path.join(root, "MNIST", "raw")
        os.makedirs(raw)
        for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
            with gzip.open(os.path.join(src, name + ".gz")) as fi, open(os.path.join(raw, name), "wb") as fo:
                shutil.copyfileobj(fi, fo)
        tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        ds = torchvision.datasets.MNIST(root, train=True, download=False, transform=tf)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True)
        m = torch_models.build("simplecnn-v2", "mnist")
        m.train()
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
        loss_fn = torch.nn.CrossEntropyLoss()

        def epoch():
            for x, y in loader:
                opt.zero_grad()
                loss_fn(m(x), y).backward()
                opt.step()

        epoch()
        t0 = time.perf_counter()
        epoch()
        sec = time.perf_counter() - t0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"name": f"epoch/simplecnn-v2-mnist/b{batch}", "value": len(ds) / sec, "unit": "images/s",
            "note": f"{sec:.2f} s/epoch"}


def conv(cin, cout, k, size, batch, budget):
    c = torch.nn.Conv2d(cin, cout, k, padding=k // 2)
    x = torch.randn(batch, cin, size, size, requires_grad=True)
    dy = torch.randn(batch, cout, size, size)

    def step():
        c.zero_grad(set_to_none=False)
        x.grad = None
        c(x).backward(dy)

    sec = measure(budget, step)
    flops = 3 * 2 * batch * cout * size * size * cin * k * k
    return {"name": f"conv/{cin}x{cout}-{k}x{k}-{size}x{size}/b{batch}/fwd+bwd", "value": batch / sec,
            "unit": "images/s", "note": f"{flops / sec / 1e9:.1f} GFLOP/s"}


def sgemm(n, budget):
    a, b = torch.rand(n, n), torch.rand(n, n)
    c = torch.empty(n, n)
    sec = measure(budget, lambda: torch.matmul(a, b, out=c))
    return {"name": f"sgemm/{n}", "value": 2 * n ** 3 / sec / 1e9, "unit": "GFLOP/s"}


ROWS = [
    ("train/simplecnn-v2-mnist/b256", lambda d: train_step("simplecnn-v2", "mnist", 256, d)),
    ("epoch/simplecnn-v2-mnist/b256", lambda d: mnist_epoch(256, d)),
    ("train/resnet18-cifar10/b64", lambda d: train_step("resnet18", "cifar10", 64, d)),
    ("train/simplevit-cifar100/b64", lambda d: train_step("simplevit", "cifar100", 64, d)),
    ("conv/64x64-3x3-32x32/b64/fwd+bwd", lambda d: conv(64, 64, 3, 32, 64, d)),
    ("sgemm/256", lambda d: sgemm(256, d)),
    ("sgemm/512", lambda d: sgemm(512, d)),
    ("sgemm/1024", lambda d: sgemm(1024, d)),
]


def blas_library():
    """The BLAS library this process has mapped (Debian's torch links libblas.so.3, which the
    alternatives system points at OpenBLAS when libopenblas0-pthread is installed and at the
    unoptimised reference BLAS otherwise)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
    except OSError:
        return "unknown"
    if any("openblas" in lib for lib in libs):
        return "openblas"
    return "reference" if libs else "none"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--json", required=True)
    ap.add_argument("--time", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    torch.ones(4, 4) @ torch.ones(4, 4)  # loads the BLAS
    blas = blas_library()
    if blas != "openblas":
        print(f"torch_bench: PyTorch's BLAS is {blas!r}, not OpenBLAS (apt-get install libopenblas0-pthread):"
              " its linear layers run unoptimised and every ratio flatters frpt", file=sys.stderr)
    rows = []
    for name, run in ROWS:
        if args.prefixes and not any(name.startswith(p) for p in args.prefixes):
            continue
        r = run(args.time)
        r["note"] = (r.get("note", "") + f" BLAS {blas}").strip()
        print(f"pytorch {r['name']:<40} {r['value']:12.1f} {r['unit']} {r.get('note', '')}", file=sys.stderr)
        rows.append(r)
    tmp = args.json + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rows, f, indent=1)
    os.replace(tmp, args.json)


if __name__ == "__main__":
    main()
