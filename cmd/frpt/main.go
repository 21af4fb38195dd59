// Command frpt pretrains, evaluates and post-trains image classifiers with FR-PT
// (Feature-level Reverse Propagation for Post-Training, arXiv 2506.07188).
//
// This package is only the command line: flags, progress and exit codes. The work is done
// by packages pipeline, models, data and checkpoint.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "frpt:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "frpt",
		Short:         "Feature-level Reverse Propagation for Post-Training (FR-PT)",
		Long:          "frpt pretrains image classifiers, reconstructs label-conditioned feature targets by reverse propagation and post-trains with them.\nSee README.md for the method and the recipes.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var cpuProfile string
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(cmd *cobra.Command, args []string) {
		if cpuProfile != "" {
			pprof.StopCPUProfile()
		}
	}
	root.AddCommand(newTrainCmd(), newEvalCmd(), newInfoCmd(), newBenchCmd(), newDemoCmd())
	root.AddCommand(newReportCmd(), newReconstructCmd(), newPostTrainCmd())
	root.AddCommand(newStageStudyCmd(), newAblateEmbeddingsCmd())
	return root
}
