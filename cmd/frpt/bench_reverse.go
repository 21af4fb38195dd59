package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/frpt/frpt/flagcheck"
	"github.com/frpt/frpt/reverse"
	"github.com/frpt/frpt/reverse/convbench"
	"github.com/spf13/cobra"
)

func newBenchReverseConvCmd() *cobra.Command {
	cfg := convbench.DefaultConfig()
	var methods []string
	var outDir string
	var stability bool
	stab := convbench.DefaultStability()
	var memLimitGiB float64
	cmd := &cobra.Command{
		Use:   "reverse-conv",
		Short: "Time and check the four conv reverse methods (FR-PT conv-reversal experiments)",
		Long: `Reproduce the conv-reversal experiments of FR-PT (spec frpt-results §2 and §3) with
exact_matrix, cg, fft_pad and fft_oldbound.

Efficiency: bias-free 5×5 convolution, batch 2, Cin 2, Cout 4 (expand) or 1 (shrink),
padding 0, weights of condition number 1, x ~ U(−1,1), target conv(x) + U(0,1) noise, no
regularisation. For every size the median time of warm calls (repeated until --time or
--repeats, after untimed warm-up calls for a quarter of --time, at most 0.25 s), the
bytes allocated by the cold and a warm call, consistency
‖conv(x̂) − y*‖/‖y*‖ and front distance mean ‖x̂ − x‖/‖x‖ are printed beside the paper's
GPU numbers and the authors' CPU times. With --stability the regularised stability grid
(Cin 8, Cout 8/16/4, padding 0/1, condition numbers 1…1e5) runs too.

Dense cells whose matrix would not fit in memory or whose estimated time per call exceeds
--max-call-time are skipped with the reason, as are methods that return an error.
Results go to DIR/reverse_conv.json and DIR/reverse_conv.png (and
DIR/reverse_conv_stability.png with --stability).`,
		Example: `  frpt bench reverse-conv
  frpt bench reverse-conv --sizes 16,32,64,128,256 --methods cg,fft_pad,fft_oldbound
  frpt bench reverse-conv --sizes 16 --stability --stability-size 16 --seeds 3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg.Methods = nil
			for _, m := range methods {
				cfg.Methods = append(cfg.Methods, reverse.ConvMethod(m))
			}
			if err := flagcheck.AtLeast("--mem-limit", memLimitGiB, 0); err != nil {
				return err
			}
			cfg.MemLimit = int64(memLimitGiB * (1 << 30))
			if stability {
				cfg.Stability = stab
			}
			if err := cfg.Validate(); err != nil {
				return err
			}
			cfg.Log = os.Stderr
			res, err := convbench.Run(cmd.Context(), cfg)
			if res != nil {
				if werr := writeReverseConv(res, outDir); werr != nil && err == nil {
					err = werr
				}
			}
			if err != nil {
				return fmt.Errorf("bench reverse-conv: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&cfg.Sizes, "sizes", cfg.Sizes, "input sizes H = W of the efficiency experiment (the paper: 16,32,64,128,256)")
	f.StringSliceVar(&methods, "methods", []string{"exact_matrix", "cg", "fft_oldbound", "fft_pad"}, "methods to run")
	f.StringSliceVar(&cfg.Cases, "cases", cfg.Cases, "expand and/or shrink")
	f.StringVar(&outDir, "out", "bench/out", "output folder for reverse_conv.json and reverse_conv.png")
	f.DurationVar(&cfg.Budget, "time", cfg.Budget, "time spent on warm calls per cell (at least one call)")
	f.IntVar(&cfg.MaxRepeats, "repeats", cfg.MaxRepeats, "warm calls per cell at most (the paper: 500)")
	f.DurationVar(&cfg.MaxCallTime, "max-call-time", cfg.MaxCallTime, "skip dense cells whose estimated time per call is longer (0: no limit)")
	f.Float64Var(&memLimitGiB, "mem-limit", 0, "skip dense cells needing more GiB (default: min(8, 80% of available memory))")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed of the efficiency problems")
	f.BoolVar(&cfg.NoiseNormal, "noise-normal", false, "draw the target noise from N(0,1) instead of U(0,1)")
	f.BoolVar(&stability, "stability", false, "also run the stability experiment (spec-results §3)")
	f.IntVar(&stab.Size, "stability-size", stab.Size, "H = W of the stability experiment (the paper: 64)")
	f.IntVar(&stab.Seeds, "seeds", stab.Seeds, "seeds per stability cell (the paper: 10)")
	f.Float64SliceVar(&stab.Conds, "conds", stab.Conds, "weight condition numbers of the stability experiment")
	return cmd
}

// writeReverseConv prints the tables and writes the JSON and plots into dir.
func writeReverseConv(res *convbench.Result, dir string) error {
	if err := res.WriteTable(os.Stdout); err != nil {
		return fmt.Errorf("bench reverse-conv: print table: %w", err)
	}
	jsonPath := filepath.Join(dir, "reverse_conv.json")
	if err := res.WriteJSON(jsonPath); err != nil {
		return err
	}
	plotPath := filepath.Join(dir, "reverse_conv.png")
	if err := res.WritePlot(plotPath); err != nil {
		return err
	}
	written := []string{jsonPath, plotPath}
	if len(res.Stability) > 0 {
		p := filepath.Join(dir, "reverse_conv_stability.png")
		if err := res.WriteStabilityPlot(p); err != nil {
			return err
		}
		written = append(written, p)
	}
	fmt.Fprintf(os.Stderr, "wrote %v at %s\n", written, time.Now().Format(time.TimeOnly))
	return nil
}
