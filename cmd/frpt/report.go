package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/frpt/frpt/flagcheck"
	"github.com/frpt/frpt/pipeline"
	"github.com/frpt/frpt/report"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	var results, out, refPath, unit string
	var opt report.GridOptions
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Summary tables, paired tests and plots of a post-training grid",
		Long: "report reads the JSON-lines results file of a post-training grid and writes report.md, summary.csv,\n" +
			"paired.csv, summary.json and PNG plots into --out: mean ± std over seeds of best/e1/e5/e10/mean for\n" +
			"every tap and c_rec, and the seed-paired comparison of the best c_rec against c_rec = 0 (one-sided\n" +
			"t-test, Wilcoxon signed-rank, Cohen's d_z, bootstrap CI). Missing and unpaired seeds are listed.",
		Example: `  frpt report --results runs/x/results.jsonl --out runs/x/report
  frpt report --results runs/x/results.jsonl --out runs/x/report --reference paper.csv --seed 0`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opt.Source, opt.Unit = results, unit
			if err := flagcheck.First(flagcheck.Required("--results", results, "a results file of frpt posttrain"), opt.Validate()); err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join(filepath.Dir(results), "report")
			}
			runs, err := report.ReadRunsJSONL(results, decodeRunResult)
			if err != nil {
				return err
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
			fmt.Printf("\nreport: %s\n", filepath.Join(out, "report.md"))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&results, "results", "", "JSON-lines results file of a post-training grid")
	f.StringVar(&out, "out", "", "output folder (default: report/ next to the results file)")
	f.StringVar(&refPath, "reference", "", "CSV of reference numbers printed beside ours: model,tap,metric,value[,source]")
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
