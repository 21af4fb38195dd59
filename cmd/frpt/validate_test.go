package main

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// listing is every file and folder under root with its size and modification time.
func listing(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fmt.Sprintf("%s %s %d", fi.ModTime().Format(time.RFC3339Nano), fi.Mode(), fi.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// fixture trains a one-epoch model on 512 MNIST images and reconstructs a cache of them.
func fixture(t *testing.T) (weights, cache string) {
	t.Helper()
	dir := t.TempDir()
	if _, err := run(t, "train", "--limit", "512", "--epochs", "1", "--out", filepath.Join(dir, "w")); err != nil {
		t.Fatal(err)
	}
	weights = filepath.Join(dir, "w", "best.safetensors")
	cache = filepath.Join(dir, "c")
	if _, err := run(t, "reconstruct", "--weights", weights, "--limit", "512", "--out", cache); err != nil {
		t.Fatal(err)
	}
	return weights, cache
}

// Every command checks every option before it creates a folder or writes a file, and the
// error names the flag and what it allows. The probes are among the cases; their
// corrected commands then work in the same folder.
func TestOptionsRefusedBeforeAnythingIsWritten(t *testing.T) {
	weights, cache := fixture(t)
	root := t.TempDir()
	out := filepath.Join(root, "out")
	cacheOut := filepath.Join(root, "cache")
	res := filepath.Join(root, "grid", "results.jsonl")
	tr := func(a ...string) []string {
		return append([]string{"train", "--limit", "256", "--epochs", "1", "--out", out}, a...)
	}
	rc := func(a ...string) []string {
		return append([]string{"reconstruct", "--weights", weights, "--limit", "256", "--out", cacheOut}, a...)
	}
	pt := func(a ...string) []string {
		return append([]string{"posttrain", "--cache", cache, "--weights", weights, "--results", res, "--seeds", "0", "--epochs", "1"}, a...)
	}
	ab := func(a ...string) []string {
		return append([]string{"ablate-embeddings", "--weights", weights, "--limit", "256", "--results", res, "--seeds", "0", "--epochs", "1"}, a...)
	}
	st := func(a ...string) []string {
		return append([]string{"stage-study", "--run", filepath.Dir(weights), "--out", out}, a...)
	}
	dm := func(a ...string) []string { return append([]string{"demo", "--out", out}, a...) }
	cases := []struct {
		args []string
		want string
	}{
		// the probes
		{tr("--lr", "NaN"), "--lr NaN: want a finite number > 0"},
		{rc("--conv-method", "bogus"), `--conv-method "bogus": want one of fft_pad, fft_oldbound, cg, exact_matrix`},
		{rc("--limit", "-5"), "--limit -5: want an integer ≥ 0"},
		// train
		{tr("--lr", "+Inf"), "--lr +Inf"},
		{tr("--lr", "0"), "--lr 0"},
		{tr("--wd", "-0.1"), "--wd -0.1"},
		{tr("--optimizer", "sgd", "--momentum", "1"), "--momentum 1: want a number in [0, 1)"},
		{tr("--optimizer", "rmsprop"), `--optimizer "rmsprop": want one of adamw, sgd`},
		{tr("--epochs", "0"), "--epochs 0"},
		{tr("--batch", "0"), "--batch 0"},
		{tr("--label-smoothing", "1"), "--label-smoothing 1"},
		{tr("--schedule", "step"), `--schedule "step": want one of none, cosine, plateau`},
		{tr("--min-lr", "NaN"), "--min-lr NaN"},
		{tr("--limit", "-1"), "--limit -1"},
		{tr("--save-every", "-1"), "--save-every -1"},
		{tr("--drop-class", "10"), "--drop-class 10: want an integer in [0, 10)"},
		{tr("--drop-class", "3", "--drop-fraction", "NaN"), "--drop-fraction NaN"},
		{tr("--nesterov"), "--nesterov"},
		{tr("--model", "vgg16"), `unknown model "vgg16": want one of simplecnn-v1`},
		{tr("--model", filepath.Join(root, "missing.onnx")), "missing.onnx"},
		{tr("--model", "simplecnn-v3"), "simplecnn-v3 is not defined for mnist"},
		{tr("--dataset", "svhn"), `--dataset "svhn": want one of mnist, fashion-mnist`},
		{tr("--recipe", "mine"), "--recipe"},
		// reconstruct
		{rc("--embedding", "soft"), `--embedding "soft": want one of nearest, max-assign, one-hot`},
		{rc("--batch", "0"), "--batch 0"},
		{rc("--shard", "0"), "--shard 0"},
		{rc("--dataset", "cifar"), `--dataset "cifar"`},
		{[]string{"reconstruct", "--out", out}, "--weights is required"},
		// posttrain
		{pt("--taps", "z9"), `--taps "z9": want one of z1, z2, out`},
		{pt("--taps", "out,out"), "--taps: out is given twice"},
		{pt("--crec", "0,NaN"), "--crec NaN"},
		{pt("--crec", "-0.1"), "--crec -0.1"},
		{pt("--crec", "0.1,0.1"), "--crec: 0.1 is given twice"},
		{pt("--seeds", "x"), `--seeds "x"`},
		{pt("--seeds", "5-3"), `--seeds "5-3"`},
		{pt("--seeds", "0-18446744073709551615"), "more than 65536 seeds"},
		{pt("--mode", "joint"), `--mode "joint": want one of coupled, decoupled, hierarchical`},
		{pt("--mode", "decoupled", "--taps", "z1"), "--crec 0: --mode decoupled"},
		{pt("--mode", "decoupled", "--taps", "out", "--crec", "0.1"), "--taps out: --mode decoupled"},
		{pt("--mode", "hierarchical", "--taps", "out"), "--mode hierarchical"},
		{pt("--taps", "all"), "only --mode hierarchical"},
		{pt("--epochs", "0"), "--epochs 0"},
		{pt("--batch", "-1"), "--batch -1"},
		{pt("--lr", "NaN"), "--lr NaN"},
		{pt("--wd", "-1"), "--wd -1"},
		{pt("--workers", "0"), "--workers 0"},
		{pt("--test-limit", "-1"), "--test-limit -1"},
		{pt("--model", "resnet18"), `model: cache has "simplecnn-v2", this run asks "resnet18"`},
		{pt("--weights", filepath.Join(root, "none.safetensors")), "none.safetensors"},
		{[]string{"posttrain", "--weights", weights}, "--cache is required"},
		// report
		{[]string{"report", "--results", res, "--out", out, "--level", "1"}, "--level 1: want a number in (0, 1)"},
		{[]string{"report", "--results", res, "--out", out, "--alpha", "NaN"}, "--alpha NaN"},
		{[]string{"report", "--results", res, "--out", out, "--resamples", "-1"}, "--resamples -1"},
		{[]string{"report", "--results", res, "--out", out, "--unit", "permille"}, `--unit "permille": want one of auto, fraction, percent`},
		{[]string{"report", "--out", out}, "--results is required"},
		// ablate-embeddings
		{ab("--embeddings", "one-hot,soft"), `--embeddings "soft": want one of nearest, max-assign, one-hot`},
		{ab("--alphas", "0.1,NaN"), "--alphas NaN"},
		{ab("--alphas", "0.1,0.1"), "--alphas: 0.1 is given twice"},
		{ab("--epochs", "0"), "--epochs 0"},
		{ab("--workers", "0"), "--workers 0"},
		{ab("--limit", "-1"), "--limit -1"},
		{ab("--lr", "Inf"), "--lr +Inf"},
		// stage-study
		{st("--conv-method", "lu"), `--conv-method "lu"`},
		{st("--embedding", "soft"), `--embedding "soft"`},
		{st("--limit", "-1"), "--limit -1"},
		{st("--batch", "0"), "--batch 0"},
		{st("--drop-first", "-1"), "--drop-first -1"},
		{st("--model", "vgg16"), `unknown model "vgg16"`},
		// demo
		{dm("--taps", "z7"), `--taps "z7": want one of z1, z2, out`},
		{dm("--crec", "0,NaN"), "--crec NaN"},
		{dm("--seeds", "0"), "--seeds 0"},
		{dm("--epochs", "0"), "--epochs 0"},
		{dm("--post-epochs", "0"), "--post-epochs 0"},
		{dm("--workers", "0"), "--workers 0"},
		// eval and bench
		{[]string{"eval", "--weights", weights, "--batch", "0"}, "--batch 0"},
		{[]string{"eval", "--weights", weights, "--model", "lenet"}, `unknown model "lenet"`},
		{[]string{"bench", "--time", "0s", "--json", filepath.Join(out, "b.json")}, "--time 0s"},
		{[]string{"bench", "sgemm/7", "--json", filepath.Join(out, "b.json")}, `row "sgemm/7": no benchmark row starts with it (rows: train/`},
		{[]string{"bench", "reverse-conv", "--out", out, "--methods", "lu"}, `--methods "lu": want one of`},
		{[]string{"bench", "reverse-conv", "--out", out, "--cases", "same"}, `--cases "same": want one of expand, shrink`},
		{[]string{"bench", "reverse-conv", "--out", out, "--sizes", "4"}, "--sizes 4: want an integer ≥ 5"},
		{[]string{"bench", "reverse-conv", "--out", out, "--repeats", "0"}, "--repeats 0"},
		{[]string{"bench", "reverse-conv", "--out", out, "--mem-limit", "NaN"}, "--mem-limit NaN"},
		{[]string{"bench", "reverse-conv", "--out", out, "--stability", "--conds", "0.5"}, "--conds 0.5"},
		// a profile is not written for a command that refuses its options
		{[]string{"--cpuprofile", filepath.Join(out, "cpu.pprof"), "train", "--lr", "NaN", "--out", out}, "--lr NaN"},
	}
	before := listing(t, root)
	for _, c := range cases {
		_, err := run(t, c.args...)
		cmd := "frpt " + strings.Join(c.args, " ")
		if err == nil {
			t.Errorf("%s: no error", cmd)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line containing %q", cmd, msg, c.want)
		}
		after := listing(t, root)
		for p := range after {
			if _, ok := before[p]; !ok {
				t.Errorf("%s: wrote %s before refusing", cmd, p)
			}
		}
		for p, v := range before {
			if after[p] != v {
				t.Errorf("%s: changed %s before refusing", cmd, p)
			}
		}
	}

	// The corrected probes work, in the folder the refused ones named.
	if _, err := run(t, tr("--lr", "0.001")...); err != nil {
		t.Fatalf("corrected train: %v", err)
	}
	if _, err := run(t, rc("--conv-method", "fft_pad")...); err != nil {
		t.Fatalf("corrected reconstruct --conv-method: %v", err)
	}
	if _, err := run(t, "reconstruct", "--weights", weights, "--limit", "5", "--out", filepath.Join(root, "cache5")); err != nil {
		t.Fatalf("corrected reconstruct --limit: %v", err)
	}
}
