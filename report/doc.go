// Package report turns run results into files a person opens: PNG plots (through
// gonum.org/v1/plot), Markdown tables and CSV files. It writes the post-training grid's
// statistics (GridReport), the training-stage study (StagePlot, StageMarkdown) and the
// output-embedding ablation (AblationPlot, AblationMarkdown). It knows nothing about
// training and imports no package that does; callers such as package pipeline pass it
// plain numbers in the small structs defined here.
package report
