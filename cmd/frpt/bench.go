package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/frpt/frpt/bench"
	"github.com/frpt/frpt/data"
	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newBenchCmd() *cobra.Command {
	var jsonOut, torchScript string
	var budget time.Duration
	var withTorch bool
	cmd := &cobra.Command{
		Use:   "bench [ROW-PREFIX...]",
		Short: "Measure training, convolution and SGEMM speed (optionally beside PyTorch)",
		Long: `Measure the speed rows of the project (training steps of SimpleCNN-v2/MNIST, ResNet-18/CIFAR
and SimpleViT/CIFAR, a 64→64 3×3 convolution, the ResNet-18/MNIST and SimpleViT/Fashion-MNIST
reverse chains with every target changed, SGEMM) and the same training steps and reverse
chains of models imported from ONNX (rows named MODEL-DATASET.onnx: the zoo model's
PyTorch twin exported with /usr/bin/python3, measured interleaved with the zoo model given
the same weights; the note gives both figures and the ratio). Arguments keep only rows whose name
starts with one of them (e.g. "train", "reverse", "sgemm/512"). With --torch the same rows are
measured with PyTorch (bench/torch_bench.py under /usr/bin/python3, 2 threads) and ratios are
printed. Every row reports its peak resident set and the allocations per measured call.`,
		Example: `  frpt bench
  frpt bench train --torch --json bench/out/train.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			specs, err := bench.Select(args, budget)
			if err != nil {
				return err
			}
			if withTorch {
				if _, err := os.Stat(torchScript); err != nil {
					return fmt.Errorf("--torch-script: %w", err)
				}
			}
			var rows []bench.Row
			for _, s := range specs {
				r, err := s.Measure(budget)
				if err != nil {
					return fmt.Errorf("bench %s: %w", s.Name, err)
				}
				fmt.Fprintf(os.Stderr, "%-40s %12.1f %s %s (peak RSS %.0f MiB, %.0f allocs and %.1f MiB per call)\n", r.Name, r.Value, r.Unit, r.Note, r.PeakRSSMiB, r.AllocsPerCall, r.AllocBytesPerCall/(1<<20))
				rows = append(rows, r)
			}
			var torch map[string]bench.Row
			if withTorch {
				var err error
				torch, err = runTorch(torchScript, args, budget)
				if err != nil {
					return err
				}
			}
			tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "row\tfrpt\tunit\tPyTorch\tfrpt/PyTorch\t")
			for _, r := range rows {
				t, ok := torch[r.Name]
				if ok && t.Value > 0 {
					fmt.Fprintf(tw, "%s\t%.1f\t%s\t%.1f\t%.2f×\t\n", r.Name, r.Value, r.Unit, t.Value, r.Value/t.Value)
				} else {
					fmt.Fprintf(tw, "%s\t%.1f\t%s\t-\t-\t\n", r.Name, r.Value, r.Unit)
				}
			}
			tw.Flush()
			if jsonOut != "" {
				return pipeline.WriteJSON(jsonOut, map[string]any{"frpt": rows, "pytorch": torch, "date": time.Now().UTC().Format(time.RFC3339)})
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&jsonOut, "json", "", "write the rows to this JSON file")
	f.DurationVar(&budget, "time", 3*time.Second, "time spent measuring each row")
	f.BoolVar(&withTorch, "torch", false, "also measure with PyTorch and print ratios")
	f.StringVar(&torchScript, "torch-script", "bench/torch_bench.py", "PyTorch side of the benchmark")
	cmd.AddCommand(newBenchReverseConvCmd())
	return cmd
}

// runTorch runs the PyTorch twin of the benchmark and reads its rows.
func runTorch(script string, prefixes []string, budget time.Duration) (map[string]bench.Row, error) {
	py := bench.Python
	if _, err := os.Stat(py); err != nil {
		return nil, fmt.Errorf("--torch needs Debian's python3-torch at %s: %w", py, err)
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("frpt-torch-bench-%d.json", os.Getpid()))
	defer os.Remove(out)
	args := append([]string{script, "--json", out, "--time", fmt.Sprint(budget.Seconds())}, prefixes...)
	c := exec.Command(py, args...)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	c.Env = os.Environ()
	if dir, err := data.DefaultDir("mnist"); err == nil { // for the epoch row on real MNIST
		c.Env = append(c.Env, "FRPT_MNIST_DIR="+dir)
	}
	if err := c.Run(); err != nil {
		return nil, fmt.Errorf("run %s %s: %w", py, script, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var rows []bench.Row
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("read %s: %w", out, err)
	}
	m := map[string]bench.Row{}
	for _, r := range rows {
		m[r.Name] = r
	}
	return m, nil
}
