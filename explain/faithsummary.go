package explain

import (
	"math"

	"github.com/frpt/frpt/stats"
)

// FaithSummary aggregates FaithSample results over samples.
type FaithSummary struct {
	Samples   int         `json:"samples"`
	Steps     int         `json:"steps"`
	Resamples int         `json:"bootstrap_resamples"`
	Level     float64     `json:"ci_level"`
	Seed      uint64      `json:"seed"`
	Maps      []FaithMap  `json:"maps"`
	Subsets   []FaithPart `json:"subsets"` // the same over the misclassified and the correct samples
}

// FaithPart is the summary over a subset of the samples.
type FaithPart struct {
	Name    string     `json:"name"`
	Samples int        `json:"samples"`
	Maps    []FaithMap `json:"maps"`
}

// FaithMap is one map's summary: mean area under each curve with its bootstrap
// percentile interval, the paired difference to the random map (positive: better than
// random; deletion random − map, insertion map − random) with its interval, the mean
// curves, and the mean mass and density ratios over the samples where they are defined.
type FaithMap struct {
	Name            string    `json:"name"`
	DeletionAUC     Interval  `json:"deletion_auc"`
	InsertionAUC    Interval  `json:"insertion_auc"`
	DeletionGain    Interval  `json:"deletion_gain_over_random"`
	InsertionGain   Interval  `json:"insertion_gain_over_random"`
	DeletionCurve   []float64 `json:"deletion_curve"`
	InsertionCurve  []float64 `json:"insertion_curve"`
	MassRatio       Num       `json:"mass_ratio"`
	DensityRatio    Num       `json:"density_ratio"`
	RatioSamples    int       `json:"ratio_samples"`
	DeletionWinsPct float64   `json:"deletion_wins_vs_random_pct"` // samples where the map's deletion AUC is below random's
}

// Interval is a mean with its bootstrap percentile interval.
type Interval struct {
	Mean Num `json:"mean"`
	Lo   Num `json:"lo"`
	Hi   Num `json:"hi"`
}

// Num is stats.Num: NaN and ±Inf as JSON null.
type Num = stats.Num

// SummarizeFaith summarises per-sample results (maps named as FaithMapNames, the last
// being the random map) with bootstrap intervals of the given level from resamples draws
// seeded with seed.
func SummarizeFaith(res []FaithSample, names []string, steps, resamples int, level float64, seed uint64) FaithSummary {
	s := FaithSummary{Samples: len(res), Steps: steps, Resamples: resamples, Level: level, Seed: seed}
	s.Maps = summarizePart(res, names, resamples, level, seed)
	var wrong, right []FaithSample
	for _, r := range res {
		if r.Pred != r.Label {
			wrong = append(wrong, r)
		} else {
			right = append(right, r)
		}
	}
	for _, part := range []struct {
		name string
		rs   []FaithSample
	}{{"misclassified", wrong}, {"correct", right}} {
		if len(part.rs) > 1 {
			s.Subsets = append(s.Subsets, FaithPart{Name: part.name, Samples: len(part.rs), Maps: summarizePart(part.rs, names, resamples, level, seed)})
		}
	}
	return s
}

func summarizePart(res []FaithSample, names []string, resamples int, level float64, seed uint64) []FaithMap {
	rnd := len(names) - 1
	col := func(k int, get func(FaithSample) []float64) []float64 {
		v := make([]float64, len(res))
		for i, r := range res {
			v[i] = get(r)[k]
		}
		return v
	}
	interval := func(v []float64) Interval {
		lo, hi := stats.BootstrapCI(v, resamples, level, seed)
		return Interval{Mean: Num(mean(v)), Lo: Num(lo), Hi: Num(hi)}
	}
	del := func(r FaithSample) []float64 { return r.DeletionAUC }
	ins := func(r FaithSample) []float64 { return r.InsertionAUC }
	rdel, rins := col(rnd, del), col(rnd, ins)
	var out []FaithMap
	for k, name := range names {
		d, in := col(k, del), col(k, ins)
		gd, gi := make([]float64, len(d)), make([]float64, len(d))
		wins := 0
		for i := range d {
			gd[i], gi[i] = rdel[i]-d[i], in[i]-rins[i]
			if d[i] < rdel[i] {
				wins++
			}
		}
		fm := FaithMap{Name: name, DeletionAUC: interval(d), InsertionAUC: interval(in), DeletionGain: interval(gd), InsertionGain: interval(gi),
			DeletionWinsPct: 100 * float64(wins) / float64(len(d))}
		steps := len(res[0].Deletion[k])
		fm.DeletionCurve, fm.InsertionCurve = make([]float64, steps), make([]float64, steps)
		for _, r := range res {
			for j := 0; j < steps; j++ {
				fm.DeletionCurve[j] += r.Deletion[k][j] / float64(len(res))
				fm.InsertionCurve[j] += r.Insertion[k][j] / float64(len(res))
			}
		}
		var ms, ds float64
		for _, r := range res {
			if !math.IsNaN(r.MassRatio[k]) {
				ms += r.MassRatio[k]
				ds += r.DensityRatio[k]
				fm.RatioSamples++
			}
		}
		fm.MassRatio, fm.DensityRatio = Num(math.NaN()), Num(math.NaN())
		if fm.RatioSamples > 0 {
			fm.MassRatio, fm.DensityRatio = Num(ms/float64(fm.RatioSamples)), Num(ds/float64(fm.RatioSamples))
		}
		out = append(out, fm)
	}
	return out
}

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
