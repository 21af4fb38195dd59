package main

import (
	"github.com/frpt/frpt/task"
	"github.com/spf13/pflag"
)

// taskFlags are --task I/N and --tasks N, shared by the commands whose work splits over
// the tasks of a job array (package task).
type taskFlags struct {
	spec  string
	count int
}

func (t *taskFlags) register(f *pflag.FlagSet) {
	f.StringVar(&t.spec, "task", "", "do task I/N of a job split over N processes (default: from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX with --tasks/FRPT_TASKS; none: the whole job)")
	f.IntVar(&t.count, "tasks", 0, "task count N for an index from the environment (default: SLURM_ARRAY_TASK_COUNT, or FRPT_TASKS)")
}

// resolve is the task of this process (task.Resolve over the flags and the environment).
func (t *taskFlags) resolve() (task.Task, error) { return task.Resolve(t.spec, t.count, nil) }
