package pipeline

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/frpt/frpt/explain"
	"github.com/frpt/frpt/report"
	"github.com/frpt/frpt/report/page"
)

// writeFaithFiles writes faithfulness.csv (one row per sample and map) and
// faithfulness.png (the mean deletion and insertion curves of every map).
func writeFaithFiles(dir string, fs *explain.FaithSummary, res []explain.FaithSample) error {
	rows := [][]string{{"index", "label", "pred", "map", "deletion_auc", "insertion_auc", "mass_ratio", "density_ratio"}}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	for _, r := range res {
		for k, name := range explain.FaithMapNames {
			rows = append(rows, []string{strconv.Itoa(r.Index), strconv.Itoa(r.Label), strconv.Itoa(r.Pred), name,
				f(r.DeletionAUC[k]), f(r.InsertionAUC[k]), f(r.MassRatio[k]), f(r.DensityRatio[k])})
		}
	}
	if err := report.WriteCSV(filepath.Join(dir, "faithfulness.csv"), rows); err != nil {
		return err
	}
	x := make([]float64, fs.Steps+1)
	for i := range x {
		x[i] = 100 * float64(i) / float64(fs.Steps)
	}
	var del, ins []report.Series
	for _, m := range fs.Maps {
		del = append(del, report.Series{Name: m.Name, X: x, Y: m.DeletionCurve})
		ins = append(ins, report.Series{Name: m.Name, X: x, Y: m.InsertionCurve})
	}
	return report.LinePlots(filepath.Join(dir, "faithfulness.png"),
		[]string{fmt.Sprintf("deletion (%d samples; lower is better)", fs.Samples), "insertion (higher is better)"},
		"pixels removed / inserted (%)", "softmax probability of the label", [][]report.Series{del, ins})
}

// faithSection adds the faithfulness tables and plot to an explain page.
func faithSection(d *page.Doc, fs *explain.FaithSummary) {
	d.H(2, "Faithfulness")
	d.P("Deletion and insertion curves (Petsiuk et al.) over the first %d test samples: the input pixels are set to the dataset mean (deletion) or copied into a mean image (insertion) in order of each map's score, in %d equal steps, and the softmax probability of the label is recorded; ties are ordered by a seeded permutation, the same for every map. Areas under the curves with %g %% bootstrap percentile intervals (%d resamples, seed %d); the gains are paired differences to the random map (positive: better than random). Mass ratio: the map's mass on object pixels (raw value > 0.5) over its mass on the background; density ratio: the same per pixel (1: no preference). Per-sample values: [faithfulness.csv](faithfulness.csv).",
		fs.Samples, fs.Steps, 100*fs.Level, fs.Resamples, fs.Seed)
	d.T(faithTable("all samples", fs.Samples, fs.Maps, fs.Level))
	for _, s := range fs.Subsets {
		d.T(faithTable(s.Name+" samples", s.Samples, s.Maps, fs.Level))
	}
	del, ins := bestFaith(fs.Maps)
	d.P("Most faithful over all samples: **%s** by deletion (smallest area), **%s** by insertion (largest area).", del, ins)
	d.Img("faithfulness.png", "mean deletion and insertion curves per map")
}

// bestFaith names the maps (the random one excluded) with the smallest deletion and the
// largest insertion area.
func bestFaith(ms []explain.FaithMap) (del, ins string) {
	bd, bi := -1, -1
	for k, m := range ms {
		if m.Name == "random" {
			continue
		}
		if bd < 0 || m.DeletionAUC.Mean < ms[bd].DeletionAUC.Mean {
			bd = k
		}
		if bi < 0 || m.InsertionAUC.Mean > ms[bi].InsertionAUC.Mean {
			bi = k
		}
	}
	if bd < 0 {
		return "–", "–"
	}
	return ms[bd].Name, ms[bi].Name
}

// FaithRows are the faithfulness table's header and rows (shared by the explain page and
// the README tables).
func FaithRows(ms []explain.FaithMap, level float64) ([]string, [][]string) {
	ci := func(v explain.Interval) string {
		return fmt.Sprintf("%.3f [%.3f, %.3f]", float64(v.Mean), float64(v.Lo), float64(v.Hi))
	}
	gain := func(v explain.Interval) string {
		return fmt.Sprintf("%+.3f [%+.3f, %+.3f]", float64(v.Mean), float64(v.Lo), float64(v.Hi))
	}
	header := []string{"map", fmt.Sprintf("deletion AUC ↓ (%g %% CI)", 100*level), "insertion AUC ↑", "deletion gain vs random", "insertion gain vs random", "mass ratio obj/bg", "density ratio"}
	var rows [][]string
	for _, m := range ms {
		rows = append(rows, []string{m.Name, ci(m.DeletionAUC), ci(m.InsertionAUC), gain(m.DeletionGain), gain(m.InsertionGain),
			fmtG(float64(m.MassRatio)), fmtG(float64(m.DensityRatio))})
	}
	return header, rows
}

func faithTable(name string, n int, ms []explain.FaithMap, level float64) *page.Table {
	h, rows := FaithRows(ms, level)
	return &page.Table{Caption: fmt.Sprintf("%s (%d)", name, n), Header: h, Rows: rows, Sortable: true}
}
