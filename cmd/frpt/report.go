package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/frpt/frpt/flagcheck"
	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/report"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	var results, out, refPath, unit, cachePath string
	var opt report.GridOptions
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Summary tables, paired tests and plots of a post-training grid",
		Long: "report reads the JSON-lines results of a post-training grid (a results file, its base name when the grid ran\n" +
			"as tasks, or their folder: the base file and every results.task-IIII-of-NNNN.jsonl are merged, refusing a\n" +
			"run found in two files or files made with different settings) and writes report.html, report.md,\n" +
			"summary.csv, paired.csv, summary.json and PNG plots into --out: mean ± std over seeds of\n" +
			"best/e1/e5/e10/mean for every tap and c_rec, and the seed-paired comparison of the best c_rec against\n" +
			"c_rec = 0 (one-sided t-test, Wilcoxon signed-rank, Cohen's d_z, bootstrap CI). Missing and unpaired\n" +
			"seeds are listed. With --cache (the cache folder or its reconstruct.json) the report also shows the\n" +
			"reconstruction gap ‖f−r‖/‖f‖ per tap. report.html is one page with sortable tables and the plots.",
		Example: `  frpt report --results runs/x/results.jsonl --out runs/x/report
  frpt report --results runs/x/results.jsonl --out runs/x/report --reference paper.csv --seed 0
  frpt report --results runs/x/results.jsonl --cache runs/x/cache`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Source, opt.Unit = results, unit
			if err := flagcheck.First(flagcheck.Required("--results", results, "a results file of frpt posttrain"), opt.Validate()); err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(filepath.Dir(results), "report")
				if fi, err := os.Stat(results); err == nil && fi.IsDir() {
					out = filepath.Join(results, "report")
				}
			}
			runs, files, err := report.ReadResultSet(results, decodeRunResult)
			if err != nil {
				return err
			}
			if len(files) > 1 {
				fmt.Fprintf(os.Stderr, "report: %d runs merged from %d files of %s\n", len(runs), len(files), results)
			}
			if cachePath != "" {
				rec, src, err := pipeline.ReadReconstructSummary(cachePath)
				if err != nil {
					return err
				}
				opt.Gaps, opt.GapsSource = rec.Taps, report.RecordedPath(filepath.Join(out, "report.md"), src)
			}
			if refPath != "" {
				if opt.References, err = report.ReadReferenceCSV(refPath); err != nil {
					return err
				}
			}
			s, _, err := report.GridReport(out, runs, opt)
			if err != nil {
				return err
			}
			fmt.Print(s.Text())
			fmt.Printf("\nreport: %s (and report.md)\n", filepath.Join(out, "report.html"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&results, "results", "", "JSON-lines results file of a post-training grid, its base name (task files), or their folder")
	f.StringVar(&out, "out", "", "output folder (default: report/ next to the results file)")
	f.StringVar(&refPath, "reference", "", "CSV of reference numbers printed beside ours: model,tap,metric,value[,source]")
	f.StringVar(&cachePath, "cache", "", "cache folder (or its reconstruct.json) the grid trained from: adds the per-tap reconstruction gaps")
	f.Uint64Var(&opt.Seed, "seed", 0, "seed of the bootstrap resampling")
	f.IntVar(&opt.Resamples, "resamples", 20000, "bootstrap resamples")
	f.Float64Var(&opt.Level, "level", 0.95, "two-sided level of the bootstrap confidence interval")
	f.Float64Var(&opt.Alpha, "alpha", 0.05, "significance level of the one-sided t-test for the \"ns\" marks")
	f.StringVar(&unit, "unit", "auto", "unit of test_acc in the results: fraction, percent or auto")
	return cmd
}

// decodeRunResult parses one results line with the grid's own schema
// (pipeline.RunResult) and converts it for package report.
func decodeRunResult(line []byte) (report.Run, error) {
	var r pipeline.RunResult
	if err := json.Unmarshal(line, &r); err != nil {
		return report.Run{}, err
	}
	return pipeline.ReportRun(r), nil
}
