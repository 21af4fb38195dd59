"""Export a zoo model's PyTorch twin to ONNX for frpt bench's imported-model rows
(run with /usr/bin/python3; frpt bench writes this folder's scripts to a temporary
folder and runs them there).

    onnx_export.py MODEL DATASET OUTDIR

builds bench/torch_models.build(MODEL, DATASET) with torch.manual_seed(0) and writes
OUTDIR/MODEL-DATASET.onnx (torch.onnx.export in eval mode, do_constant_folding=False,
training=TrainingMode.PRESERVE, opset 14, dynamic batch) and its state_dict as
OUTDIR/MODEL-DATASET.state.safetensors, so that the zoo model and the imported one
start from the same weights.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import torch_models as tm  # noqa: E402

SHAPES = {"mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "cifar10": (3, 32, 32), "cifar100": (3, 32, 32)}


def main():
    model, dataset, outdir = sys.argv[1:4]
    torch.manual_seed(0)
    m = tm.build(model, dataset)
    m.eval()
    base = os.path.join(outdir, model + "-" + dataset)
    x = torch.randn(2, *SHAPES[dataset])
    torch.onnx.export(m, x, base + ".onnx", do_constant_folding=False,
                      training=torch.onnx.TrainingMode.PRESERVE, opset_version=14,
                      input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "N"}, "logits": {0: "N"}})
    st.save(base + ".state.safetensors", {k: v.detach().contiguous() for k, v in m.state_dict().items()})


if __name__ == "__main__":
    main()
