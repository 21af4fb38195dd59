#!/usr/bin/env bash
# Bring your own model, end to end: a PyTorch module nobody in frpt wrote goes in as ONNX,
# comes out post-trained as a state_dict PyTorch loads, and every accuracy is checked to
# the image:
#
#   1. byom.py train       train the module briefly on MNIST, export model.onnx (+ its
#                          state_dict and PyTorch's test accuracy)
#   2. frpt eval           the imported model scores exactly PyTorch's test accuracy
#   3. frpt reconstruct    reverse chain derived from the graph, feature cache
#   4. frpt posttrain      one run (tap $TAP, c_rec $CREC, seed 0) with --save: the best
#                          epoch's weights as safetensors (initializer names) + an .onnx copy
#   5. byom.py eval        the saved safetensors loaded with load_state_dict(strict=True)
#                          scores exactly the accuracy frpt reported for the saved epoch
#   6. frpt eval           so does the saved .onnx copy
#
# Usage: examples/byom/run.sh OUT
# Environment (defaults in brackets): FRPT [frpt on PATH], PYTHON [/usr/bin/python3, with
# torch], MNIST_DIR [the folder `frpt info --datasets` prints], IMAGES [12000] and EPOCHS
# [1] (PyTorch training), LIMIT [256] (reconstructed training samples), TAP [z2], CREC
# [0.1], POST_EPOCHS [2], LR [frpt's default] (post-training).
# Every test accuracy is over the whole MNIST test split (10,000 images) on both sides.
set -euo pipefail

out=${1:?usage: $0 OUT}
here=$(cd "$(dirname "$0")" && pwd)
frpt=${FRPT:-frpt}
py=${PYTHON:-/usr/bin/python3}
mnist=${MNIST_DIR:-$("$frpt" info --datasets | awk '$1 == "mnist" {print $2}')}
[ -f "$mnist/t10k-images-idx3-ubyte.gz" ] || { echo "run.sh: MNIST not found in '$mnist' (set MNIST_DIR)" >&2; exit 1; }
lr=()
[ -n "${LR:-}" ] && lr=(--lr "$LR")
mkdir -p "$out"

# field FILE KEY: a number from a JSON file.
field() { "$py" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
# same WHAT A B: fail unless the two counts of correct test images are equal.
same() {
  if [ "$2" != "$3" ]; then echo "run.sh: MISMATCH $1: $2 vs $3 correct test images" >&2; exit 1; fi
  echo "== match: $1 ($2/10000 correct)"
}

echo "== 1. train the PyTorch module and export it"
"$py" "$here/byom.py" train "$mnist" "$out" --images "${IMAGES:-12000}" --epochs "${EPOCHS:-1}"

echo "== 2. frpt eval --model model.onnx"
"$frpt" eval --model "$out/model.onnx" --json "$out/frpt-eval.json" | sed -n 1p
same "frpt eval of model.onnx = PyTorch" "$(field "$out/frpt-eval.json" correct)" "$(field "$out/torch-eval.json" correct)"

echo "== 3. frpt reconstruct --model model.onnx"
"$frpt" reconstruct --model "$out/model.onnx" --limit "${LIMIT:-256}" --batch 64 --out "$out/cache"

echo "== 4. frpt posttrain --model model.onnx --save"
results=$out/grid/results.jsonl
"$frpt" posttrain --cache "$out/cache" --model "$out/model.onnx" --taps "${TAP:-z2}" --crec "${CREC:-0.1}" \
  --seeds 0 --epochs "${POST_EPOCHS:-2}" "${lr[@]}" --save "$out/weights" --results "$results"
# The run's line: the saved files (relative to the results folder), the saved epoch and
# frpt's test accuracy of that epoch, as a count of correct images.
run=$("$py" - "$results" <<'EOF'
import json, os, sys
path = sys.argv[1]
lines = [json.loads(l) for l in open(path) if l.strip()]
assert len(lines) == 1, "want one run in %s, got %d" % (path, len(lines))
r = lines[0]
d = os.path.dirname(path)
print(os.path.join(d, r["saved"]), os.path.join(d, r["saved_onnx"]), round(r["test_acc"][r["saved_epoch"] - 1] * 10000))
EOF
)
read -r saved saved_onnx reported <<<"$run"
echo "saved $saved and $saved_onnx"

echo "== 5. byom.py eval: the saved state_dict in PyTorch"
"$py" "$here/byom.py" eval "$mnist" "$saved" --json "$out/torch-posttrained.json"
same "PyTorch on the post-trained state_dict = frpt's reported accuracy" "$(field "$out/torch-posttrained.json" correct)" "$reported"

echo "== 6. frpt eval --model saved.onnx"
"$frpt" eval --model "$saved_onnx" --json "$out/frpt-posttrained-onnx.json" | sed -n 1p
same "frpt eval of the saved .onnx = frpt's reported accuracy" "$(field "$out/frpt-posttrained-onnx.json" correct)" "$reported"
echo "== byom: all accuracies match"
