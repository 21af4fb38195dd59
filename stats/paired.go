package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Paired is the comparison of two seed-paired samples a (treatment) and b (reference).
type Paired struct {
	N         int     `json:"n"`
	MeanDiff  float64 `json:"mean_diff"`
	SDDiff    float64 `json:"sd_diff"`
	T         float64 `json:"t"`
	PT        float64 `json:"p_t"` // one-sided, H1: mean(a − b) > 0
	W         float64 `json:"wilcoxon_w"`
	PW        float64 `json:"p_wilcoxon"` // one-sided, normal approximation
	CohenDz   float64 `json:"cohen_dz"`
	CILow     float64 `json:"ci_low"`
	CIHigh    float64 `json:"ci_high"`
	PPermute  float64 `json:"p_permutation"` // exact sign-flip, one-sided
	Bootstrap int     `json:"bootstrap_resamples"`
}

// Compare runs every paired test of a against b (same length, paired by index). The
// bootstrap uses resamples draws from a generator seeded with seed and a two-sided
// level (e.g. 0.95) interval.
func Compare(a, b []float64, resamples int, level float64, seed uint64) (Paired, error) {
	if len(a) != len(b) {
		return Paired{}, fmt.Errorf("stats.Compare: %d and %d values are not paired", len(a), len(b))
	}
	if len(a) < 2 {
		return Paired{}, fmt.Errorf("stats.Compare: need at least 2 pairs, got %d", len(a))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	p := Paired{N: len(d), Bootstrap: resamples}
	p.MeanDiff, p.SDDiff = stat.MeanStdDev(d, nil)
	p.T, p.PT = TTestOneSided(d)
	p.W, p.PW = WilcoxonOneSided(d)
	p.CohenDz = CohenDz(d)
	p.CILow, p.CIHigh = BootstrapCI(d, resamples, level, seed)
	if len(d) <= 20 {
		p.PPermute = SignFlipExact(d)
	} else {
		p.PPermute = math.NaN()
	}
	return p, nil
}

// TTestOneSided is the one-sample t-test of the differences d against 0 with H1: mean > 0.
// It returns t and the p-value; zero variance gives t = ±Inf (p 0 or 1) or NaN for a
// zero mean.
func TTestOneSided(d []float64) (t, p float64) {
	n := float64(len(d))
	m, s := stat.MeanStdDev(d, nil)
	if s == 0 {
		switch {
		case m > 0:
			return math.Inf(1), 0
		case m < 0:
			return math.Inf(-1), 1
		}
		return math.NaN(), math.NaN()
	}
	t = m / (s / math.Sqrt(n))
	return t, distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Survival(t)
}

// CohenDz is mean(d)/sd(d) (ddof 1).
func CohenDz(d []float64) float64 {
	m, s := stat.MeanStdDev(d, nil)
	if s == 0 {
		return math.NaN()
	}
	return m / s
}

// WilcoxonOneSided is the Wilcoxon signed-rank test of d with H1: location > 0. Zero
// differences are dropped (Wilcoxon's convention); ties get average ranks; the p-value
// uses the normal approximation with tie correction and no continuity correction
// (scipy.stats.wilcoxon(d, alternative="greater", method="approx")). W is the sum of the
// ranks of positive differences.
func WilcoxonOneSided(d []float64) (w, p float64) {
	var nz []float64
	for _, v := range d {
		if v != 0 {
			nz = append(nz, v)
		}
	}
	n := len(nz)
	if n == 0 {
		return 0, math.NaN()
	}
	abs := make([]float64, n)
	for i, v := range nz {
		abs[i] = math.Abs(v)
	}
	ranks, tieSum := ranksTies(abs)
	for i, v := range nz {
		if v > 0 {
			w += ranks[i]
		}
	}
	nf := float64(n)
	mean := nf * (nf + 1) / 4
	variance := nf*(nf+1)*(2*nf+1)/24 - tieSum/48
	if variance <= 0 {
		return w, math.NaN()
	}
	z := (w - mean) / math.Sqrt(variance)
	return w, distuv.UnitNormal.Survival(z)
}

// BootstrapCI is the percentile bootstrap interval of mean(d) at the given two-sided
// level, from resamples draws with replacement (seeded).
func BootstrapCI(d []float64, resamples int, level float64, seed uint64) (lo, hi float64) {
	if resamples <= 0 {
		return math.NaN(), math.NaN()
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	means := make([]float64, resamples)
	for r := range means {
		s := 0.0
		for range d {
			s += d[rng.IntN(len(d))]
		}
		means[r] = s / float64(len(d))
	}
	sort.Float64s(means)
	alpha := (1 - level) / 2
	return stat.Quantile(alpha, stat.LinInterp, means, nil), stat.Quantile(1-alpha, stat.LinInterp, means, nil)
}

// SignFlipExact is the exact one-sided permutation p-value of mean(d) > 0 over all 2ⁿ
// sign patterns (n ≤ 20): the share of patterns whose mean is ≥ the observed one.
func SignFlipExact(d []float64) float64 {
	n := len(d)
	if n > 20 {
		panic(fmt.Sprintf("stats.SignFlipExact: %d pairs is too many for the exact test (max 20)", n))
	}
	obs := 0.0
	for _, v := range d {
		obs += v
	}
	count := 0
	total := 1 << n
	for mask := 0; mask < total; mask++ {
		s := 0.0
		for i, v := range d {
			if mask&(1<<i) != 0 {
				s -= v
			} else {
				s += v
			}
		}
		if s >= obs-1e-12*math.Abs(obs) {
			count++
		}
	}
	return float64(count) / float64(total)
}
