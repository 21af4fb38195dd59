// Command frpt pretrains, evaluates and post-trains image classifiers with FR-PT
// (Feature-level Reverse Propagation for Post-Training, arXiv 2506.07188).
//
// This package is only the command line: flags, progress and exit codes. The work is done
// by packages pipeline, models, data and checkpoint.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/frpt/frpt/atomicfile"
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
	var cpuProfile, memProfile string
	// The CPU profile is kept in memory and written after the command, through atomicfile:
	// a command that refuses its options writes nothing, not even a profile.
	var cpuBuf bytes.Buffer
	root.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	root.PersistentFlags().StringVar(&memProfile, "memprofile", "", "write a heap profile (go tool pprof) to this file after the command")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if memProfile != "" {
			// One sample per 64 KiB allocated on average (the default is 512 KiB);
			// allocations of that size and more are always sampled.
			runtime.MemProfileRate = 64 << 10
		}
		if cpuProfile == "" {
			return nil
		}
		if err := pprof.StartCPUProfile(&cpuBuf); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		return nil
	}
	root.PersistentPostRunE = func(cmd *cobra.Command, args []string) error {
		if cpuProfile != "" {
			pprof.StopCPUProfile()
			if err := atomicfile.WriteBytes(cpuProfile, cpuBuf.Bytes()); err != nil {
				return fmt.Errorf("--cpuprofile: %w", err)
			}
		}
		if memProfile != "" {
			if err := writeHeapProfile(memProfile); err != nil {
				return fmt.Errorf("--memprofile: %w", err)
			}
		}
		return nil
	}
	root.AddCommand(newTrainCmd(), newEvalCmd(), newInfoCmd(), newBenchCmd(), newDemoCmd())
	root.AddCommand(newReportCmd(), newReconstructCmd(), newPostTrainCmd())
	root.AddCommand(newStageStudyCmd(), newAblateEmbeddingsCmd())
	root.AddCommand(newExplainCmd())
	return root
}

// writeHeapProfile writes the heap profile to path after a garbage collection, so that
// it counts every allocation of the command (alloc_space: where the memory went) and
// what is still live at its end (inuse_space: what outlives it, such as free lists).
func writeHeapProfile(path string) error {
	runtime.GC()
	return atomicfile.Write(path, pprof.WriteHeapProfile)
}
