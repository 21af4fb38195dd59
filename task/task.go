// Package task says which share of a job one process does when the job is split over
// N processes, for example the tasks of a Slurm job array or the pods of a Kubernetes
// Indexed Job: task I of N (0 ≤ I < N) from a --task I/N flag or from the scheduler's
// environment, and the deterministic shares (a contiguous block, or every N-th item)
// and per-task file names that every splittable frpt command uses.
//
// It does not coordinate anything: tasks never talk to each other, they only write
// different files into shared folders.
package task

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Task is the Index-th (0-based) of Count processes sharing a job. The zero value, like
// Count 1, is the whole job in one process.
type Task struct {
	Index, Count int
	// Source says where the task came from, e.g. "--task 1/3" or
	// "SLURM_ARRAY_TASK_ID=1, SLURM_ARRAY_TASK_COUNT=3" (empty: no task was given).
	Source string
}

// Whole is the job done by one process.
var Whole = Task{Index: 0, Count: 1}

// Split reports whether the job is shared with other processes (Count > 1).
func (t Task) Split() bool { return t.Count > 1 }

func (t Task) count() int { return max(t.Count, 1) }

// String is "task I/N".
func (t Task) String() string { return fmt.Sprintf("task %d/%d", t.Index, t.count()) }

// Describe is "task I/N" followed by where the task came from in brackets, when known.
func (t Task) Describe() string {
	if t.Source == "" {
		return t.String()
	}
	return t.String() + " (" + t.Source + ")"
}

// Parse reads "I/N" (0 ≤ I < N).
func Parse(s string) (Task, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Task{}, fmt.Errorf("--task %q: want I/N, e.g. 0/4 for the first of four tasks", s)
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return Task{}, fmt.Errorf("--task %q: want I/N with whole numbers, e.g. 0/4", s)
	}
	return newTask(i, n, "--task "+s)
}

func newTask(i, n int, source string) (Task, error) {
	switch {
	case n < 1:
		return Task{}, fmt.Errorf("%s: the task count must be at least 1", source)
	case i < 0 || i >= n:
		return Task{}, fmt.Errorf("%s: task index %d is outside 0…%d (tasks are numbered from 0)", source, i, n-1)
	}
	return Task{Index: i, Count: n, Source: source}, nil
}

// Environment variables read by Resolve.
const (
	SlurmID    = "SLURM_ARRAY_TASK_ID"
	SlurmCount = "SLURM_ARRAY_TASK_COUNT"
	SlurmMin   = "SLURM_ARRAY_TASK_MIN"
	SlurmMax   = "SLURM_ARRAY_TASK_MAX"
	K8sIndex   = "JOB_COMPLETION_INDEX"
	TasksEnv   = "FRPT_TASKS"
)

// Resolve finds the task of this process. In order:
//   - flag "I/N" (a --task flag; "" when absent);
//   - Slurm: SLURM_ARRAY_TASK_ID is I; N is tasks (a --tasks flag, 0 when absent) or
//     FRPT_TASKS when given (to rerun one index of a larger array with sbatch --array=I),
//     else SLURM_ARRAY_TASK_COUNT, else SLURM_ARRAY_TASK_MAX+1. Without an explicit N
//     the array must be numbered 0…N-1 with no step (--array=0-15, with or without %K);
//   - Kubernetes Indexed Job: JOB_COMPLETION_INDEX is I, N is tasks or FRPT_TASKS (the
//     Job's completions), which must be given;
//   - otherwise the whole job (Whole, with an empty Source); a task count without an
//     index is an error.
//
// env looks a variable up (os.LookupEnv when nil).
func Resolve(flag string, tasks int, env func(string) (string, bool)) (Task, error) {
	if env == nil {
		env = os.LookupEnv
	}
	if flag != "" {
		if tasks > 0 {
			return Task{}, fmt.Errorf("--task %s and --tasks %d: give one of them (--tasks only sets the count for an index from the environment)", flag, tasks)
		}
		return Parse(flag)
	}
	if tasks < 0 {
		return Task{}, fmt.Errorf("--tasks %d: want a positive count", tasks)
	}
	count, countSrc := tasks, fmt.Sprintf("--tasks %d", tasks)
	if count == 0 {
		if v, ok := env(TasksEnv); ok && strings.TrimSpace(v) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				return Task{}, fmt.Errorf("%s=%q: want a positive whole number", TasksEnv, v)
			}
			count, countSrc = n, TasksEnv+"="+strings.TrimSpace(v)
		}
	}
	if id, ok, err := envInt(env, SlurmID); err != nil {
		return Task{}, err
	} else if ok {
		return slurmTask(env, id, count, countSrc)
	}
	if id, ok, err := envInt(env, K8sIndex); err != nil {
		return Task{}, err
	} else if ok {
		src := fmt.Sprintf("%s=%d", K8sIndex, id)
		if count == 0 {
			return Task{}, fmt.Errorf("%s: the task count is not given: pass --tasks N or set %s to the Job's completions", src, TasksEnv)
		}
		return newTask(id, count, src+", "+countSrc)
	}
	if count > 0 {
		return Task{}, fmt.Errorf("%s gives a task count but no task index: pass --task I/N, or run under a Slurm array (%s) or an Indexed Job (%s)", countSrc, SlurmID, K8sIndex)
	}
	return Whole, nil
}

// slurmTask is the task of a Slurm array element.
func slurmTask(env func(string) (string, bool), id, count int, countSrc string) (Task, error) {
	src := fmt.Sprintf("%s=%d", SlurmID, id)
	if count > 0 {
		return newTask(id, count, src+", "+countSrc)
	}
	n, hasN, err := envInt(env, SlurmCount)
	if err != nil {
		return Task{}, err
	}
	lo, hasLo, err := envInt(env, SlurmMin)
	if err != nil {
		return Task{}, err
	}
	hi, hasHi, err := envInt(env, SlurmMax)
	if err != nil {
		return Task{}, err
	}
	switch {
	case hasLo && lo != 0:
		return Task{}, fmt.Errorf("%s: the array starts at %s=%d, but frpt numbers tasks from 0: submit --array=0-%d, or set %s to the task count and number the array from 0",
			src, SlurmMin, lo, max(hi-lo, 0), TasksEnv)
	case hasN && hasHi && hi+1 != n:
		return Task{}, fmt.Errorf("%s: the array has %s=%d elements but runs up to %s=%d (a step or a rerun of part of an array): set %s to the task count of the whole array",
			src, SlurmCount, n, SlurmMax, hi, TasksEnv)
	case hasN:
		src += fmt.Sprintf(", %s=%d", SlurmCount, n)
	case hasHi:
		n = hi + 1
		src += fmt.Sprintf(", %s=%d", SlurmMax, hi)
	default:
		return Task{}, fmt.Errorf("%s is set but neither %s nor %s: pass --tasks N or set %s", src, SlurmCount, SlurmMax, TasksEnv)
	}
	if id >= n {
		return Task{}, fmt.Errorf("%s: task index %d is outside the array's 0…%d; to rerun one index of a larger array, set %s to the whole array's task count", src, id, n-1, TasksEnv)
	}
	return newTask(id, n, src)
}

func envInt(env func(string) (string, bool), name string) (int, bool, error) {
	v, ok := env(name)
	if !ok || strings.TrimSpace(v) == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s=%q: want a non-negative whole number", name, v)
	}
	return n, true, nil
}

// Block is the task's contiguous share [lo, hi) of n items in order: the shares of the N
// tasks are disjoint, cover 0…n-1 and differ in size by at most one.
func (t Task) Block(n int) (lo, hi int) {
	c := t.count()
	return t.Index * n / c, (t.Index + 1) * n / c
}

// Owns reports whether item i of a list is the task's under round-robin assignment
// (item i belongs to task i mod N), which spreads items of different cost evenly.
func (t Task) Owns(i int) bool { return i%t.count() == t.Index }

// Tag is "task-IIII-of-NNNN", the part of a task's file names that names the task.
func (t Task) Tag() string { return fmt.Sprintf("task-%04d-of-%04d", t.Index, t.count()) }

// File is the task's own file beside base: "dir/results.jsonl" becomes
// "dir/results.task-0003-of-0016.jsonl". The whole job's file is base itself.
func (t Task) File(base string) string {
	if !t.Split() {
		return base
	}
	ext := filepath.Ext(base)
	return strings.TrimSuffix(base, ext) + "." + t.Tag() + ext
}

var tagRE = regexp.MustCompile(`^(.*)\.task-(\d{4,})-of-(\d{4,})(\.[^.]*)?$`)

// FromFile reads the task back from a name written by File: the base name and the task.
// ok is false for a name without a task tag.
func FromFile(name string) (base string, t Task, ok bool) {
	m := tagRE.FindStringSubmatch(name)
	if m == nil {
		return "", Task{}, false
	}
	i, _ := strconv.Atoi(m[2])
	n, _ := strconv.Atoi(m[3])
	if n < 1 || i >= n {
		return "", Task{}, false
	}
	return m[1] + m[4], Task{Index: i, Count: n, Source: name}, true
}

// Files lists the task files of base that exist (every task count), sorted by name.
func Files(base string) ([]string, error) {
	ext := filepath.Ext(base)
	pattern := globEscape(strings.TrimSuffix(base, ext)) + ".task-*-of-*" + globEscape(ext)
	names, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("task files of %s: %w", base, err)
	}
	var out []string
	for _, n := range names {
		if b, _, ok := FromFile(n); ok && b == base {
			out = append(out, n)
		}
	}
	return out, nil
}

// globEscape quotes the glob metacharacters of a literal path.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
