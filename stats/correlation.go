package stats

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// PearsonTest returns Pearson's r of x and y with its two-sided p-value from the t
// distribution with n − 2 degrees of freedom (scipy.stats.pearsonr). Fewer than 3 pairs
// or a constant input give NaN; |r| = 1 gives p = 0.
func PearsonTest(x, y []float64) (r, p float64) {
	if len(x) != len(y) || len(x) < 3 {
		return math.NaN(), math.NaN()
	}
	r = stat.Correlation(x, y, nil)
	return r, corrPValue(r, len(x))
}

// SpearmanTest returns Spearman's ρ (Pearson's r of the ranks, ties sharing their mean
// rank) with the two-sided p-value of scipy.stats.spearmanr (t approximation, n − 2
// degrees of freedom).
func SpearmanTest(x, y []float64) (rho, p float64) {
	if len(x) != len(y) || len(x) < 3 {
		return math.NaN(), math.NaN()
	}
	rho = stat.Correlation(Ranks(x), Ranks(y), nil)
	return rho, corrPValue(rho, len(x))
}

// Ranks returns the 1-based ranks of x, tied values sharing their mean rank.
func Ranks(x []float64) []float64 {
	r, _ := ranksTies(x)
	return r
}

// ranksTies returns Ranks(x) and the tie correction Σ (t³ − t) over the groups of t tied
// values.
func ranksTies(x []float64) (ranks []float64, tieSum float64) {
	idx := make([]int, len(x))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return x[idx[a]] < x[idx[b]] })
	ranks = make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && x[idx[j+1]] == x[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			ranks[idx[k]] = float64(i+j)/2 + 1
		}
		t := float64(j - i + 1)
		tieSum += t*t*t - t
		i = j + 1
	}
	return ranks, tieSum
}

// corrPValue is the two-sided p-value of a correlation r of n pairs:
// t = r·√((n−2)/(1−r²)) against Student's t with n − 2 degrees of freedom.
func corrPValue(r float64, n int) float64 {
	if math.IsNaN(r) || n < 3 {
		return math.NaN()
	}
	if math.Abs(r) >= 1 {
		return 0
	}
	df := float64(n - 2)
	t := r * math.Sqrt(df/(1-r*r))
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
}
