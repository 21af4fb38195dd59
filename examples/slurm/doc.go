// Package slurm holds the Slurm example of frpt (frpt.sbatch, one generic array script) and
// cost.sh, which measures what the paper's full grid costs on this machine and writes
// results/cost/. It has no code: its test checks that cost.sh parses and that the committed
// table in results/cost/grid.csv follows from the measurements in results/cost/runs.csv.
package slurm
