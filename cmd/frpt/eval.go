package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/frpt/frpt/pipeline"
	"github.com/spf13/cobra"
)

func newEvalCmd() *cobra.Command {
	var cfg pipeline.EvalConfig
	var jsonOut string
	cmd := &cobra.Command{
		Use:     "eval",
		Short:   "Test accuracy and confusion matrix of a checkpoint",
		Example: `  frpt eval --model simplecnn-v2 --dataset mnist --weights runs/mnist-simplecnn-v2/best.safetensors`,
		RunE: func(cmd *cobra.Command, args []string) error {
			importedDefaults(cmd, cfg.Model, &cfg.Weights, nil)
			if err := cfg.Validate(); err != nil {
				return err
			}
			res, err := pipeline.Evaluate(cmd.Context(), cfg, os.Stderr)
			if err != nil {
				return err
			}
			fmt.Printf("%s on %s (%s): test accuracy %.2f%% (%d/%d), loss %.4f\n",
				cfg.Model, cfg.Dataset, cfg.Weights, 100*res.Accuracy, res.Correct, res.Total, res.Loss)
			fmt.Print(formatConfusion(res.Confusion, res.ClassNames))
			if jsonOut != "" {
				if err := pipeline.WriteJSON(jsonOut, res); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "simplecnn-v2", "model name")
	f.StringVar(&cfg.Dataset, "dataset", "mnist", "dataset")
	f.StringVar(&cfg.DataDir, "data", "", "dataset folder (default: found automatically for mnist and fashion-mnist)")
	f.StringVar(&cfg.Weights, "weights", "", "checkpoint (.safetensors, PyTorch state_dict names; default for an ONNX model: its initializers)")
	f.IntVar(&cfg.BatchSize, "batch", 500, "batch size")
	f.StringVar(&jsonOut, "json", "", "also write the result (accuracy, confusion matrix) to this JSON file")
	return cmd
}

// formatConfusion renders rows = true class, columns = predicted class.
func formatConfusion(m [][]int, names []string) string {
	var b strings.Builder
	b.WriteString("confusion matrix (rows: true class, columns: predicted)\n")
	if len(m) > 20 {
		fmt.Fprintf(&b, "  (%d classes: see --json for the full matrix)\n", len(m))
		return b.String()
	}
	b.WriteString("      ")
	for j := range m {
		fmt.Fprintf(&b, "%6d", j)
	}
	b.WriteString("\n")
	for i, row := range m {
		fmt.Fprintf(&b, "%6d", i)
		for _, v := range row {
			fmt.Fprintf(&b, "%6d", v)
		}
		if i < len(names) {
			fmt.Fprintf(&b, "  %s", names[i])
		}
		b.WriteString("\n")
	}
	return b.String()
}
