// Package stats holds the paired comparisons FR-PT reports (spec §6): a one-sided paired
// t-test, the Wilcoxon signed-rank test (normal approximation with tie correction, as
// scipy's "approx" method), Cohen's d_z, a percentile bootstrap confidence interval of the
// mean difference and the exact sign-flip permutation test; and the Pearson and Spearman
// correlations (with their t-test p-values) of the training-stage study. Distributions come from
// gonum's stat/distuv.
package stats
