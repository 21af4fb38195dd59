package task

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name  string
		flag  string
		tasks int
		env   []string
		index int
		count int
		err   string // substring of the error; "" for none
	}{
		{name: "nothing: the whole job", index: 0, count: 1},
		{name: "flag", flag: "2/5", index: 2, count: 5},
		{name: "flag first of one", flag: "0/1", index: 0, count: 1},
		{name: "flag wins over the environment", flag: "1/2", env: []string{SlurmID, "7", SlurmCount, "16"}, index: 1, count: 2},
		{name: "flag index too large", flag: "3/3", err: "outside 0…2"},
		{name: "flag negative", flag: "-1/3", err: "outside"},
		{name: "flag zero count", flag: "0/0", err: "at least 1"},
		{name: "flag not a fraction", flag: "3", err: "want I/N"},
		{name: "flag not numbers", flag: "a/b", err: "whole numbers"},
		{name: "flag and --tasks", flag: "1/3", tasks: 3, err: "give one of them"},
		{name: "slurm count", env: []string{SlurmID, "3", SlurmCount, "16", SlurmMin, "0", SlurmMax, "15"}, index: 3, count: 16},
		{name: "slurm count only", env: []string{SlurmID, "0", SlurmCount, "2"}, index: 0, count: 2},
		{name: "slurm min/max only", env: []string{SlurmID, "4", SlurmMin, "0", SlurmMax, "7"}, index: 4, count: 8},
		{name: "slurm array from 1", env: []string{SlurmID, "1", SlurmCount, "4", SlurmMin, "1", SlurmMax, "4"}, err: "numbers tasks from 0"},
		{name: "slurm array with a step", env: []string{SlurmID, "2", SlurmCount, "4", SlurmMin, "0", SlurmMax, "6"}, err: "a step or a rerun"},
		{name: "slurm rerun of one index without a count", env: []string{SlurmID, "3", SlurmCount, "1", SlurmMin, "3", SlurmMax, "3"}, err: TasksEnv},
		{name: "slurm rerun of one index with FRPT_TASKS", env: []string{SlurmID, "3", SlurmCount, "1", SlurmMin, "3", SlurmMax, "3", TasksEnv, "16"}, index: 3, count: 16},
		{name: "slurm rerun with --tasks", tasks: 16, env: []string{SlurmID, "3", SlurmCount, "1", SlurmMin, "3", SlurmMax, "3"}, index: 3, count: 16},
		{name: "slurm index beyond FRPT_TASKS", env: []string{SlurmID, "3", TasksEnv, "3"}, err: "outside 0…2"},
		{name: "slurm without count", env: []string{SlurmID, "3"}, err: SlurmCount},
		{name: "slurm bad id", env: []string{SlurmID, "x", SlurmCount, "2"}, err: SlurmID + `="x"`},
		{name: "slurm wins over k8s", env: []string{SlurmID, "1", SlurmCount, "2", K8sIndex, "5", TasksEnv, "9"}, index: 1, count: 9},
		{name: "k8s with FRPT_TASKS", env: []string{K8sIndex, "2", TasksEnv, "4"}, index: 2, count: 4},
		{name: "k8s with --tasks", tasks: 3, env: []string{K8sIndex, "0"}, index: 0, count: 3},
		{name: "--tasks wins over FRPT_TASKS", tasks: 3, env: []string{K8sIndex, "2", TasksEnv, "8"}, index: 2, count: 3},
		{name: "k8s without a count", env: []string{K8sIndex, "2"}, err: "--tasks N or set FRPT_TASKS"},
		{name: "k8s index too large", env: []string{K8sIndex, "4", TasksEnv, "4"}, err: "outside 0…3"},
		{name: "bad FRPT_TASKS", env: []string{K8sIndex, "0", TasksEnv, "zero"}, err: TasksEnv + `="zero"`},
		{name: "count without index", env: []string{TasksEnv, "4"}, err: "no task index"},
		{name: "--tasks without index", tasks: 4, err: "no task index"},
		{name: "negative --tasks", tasks: -2, err: "positive"},
		{name: "empty variables are absent", env: []string{SlurmID, "", K8sIndex, " ", TasksEnv, ""}, index: 0, count: 1},
	}
	for _, c := range cases {
		got, err := Resolve(c.flag, c.tasks, envOf(c.env...))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got.Index != c.index || got.Count != c.count {
			t.Errorf("%s: got %d/%d, want %d/%d", c.name, got.Index, got.Count, c.index, c.count)
		}
		if (c.flag != "" || len(c.env) > 0) && got.Split() && got.Source == "" {
			t.Errorf("%s: no source recorded", c.name)
		}
	}
}

// The blocks of every task are disjoint, cover 0…n-1 in order and differ by at most one
// in size; round-robin gives every item to exactly one task.
func TestSharesPartition(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 8, 64, 100} {
		for _, count := range []int{1, 2, 3, 4, 16, 128} {
			next, small, large := 0, n, 0
			owners := make([]int, n)
			for i := 0; i < count; i++ {
				tk := Task{Index: i, Count: count}
				lo, hi := tk.Block(n)
				if lo != next || hi < lo {
					t.Fatalf("n %d, %d tasks: task %d block [%d,%d) after %d", n, count, i, lo, hi, next)
				}
				next = hi
				small, large = min(small, hi-lo), max(large, hi-lo)
				for j := 0; j < n; j++ {
					if tk.Owns(j) {
						owners[j]++
					}
				}
			}
			if next != n || large-small > 1 {
				t.Errorf("n %d, %d tasks: blocks end at %d, sizes %d…%d", n, count, next, small, large)
			}
			for j, o := range owners {
				if o != 1 {
					t.Errorf("n %d, %d tasks: item %d owned by %d tasks", n, count, j, o)
				}
			}
		}
	}
	if lo, hi := (Task{}).Block(5); lo != 0 || hi != 5 {
		t.Errorf("the zero task's block is [%d,%d), want all", lo, hi)
	}
}

func TestFileNames(t *testing.T) {
	cases := []struct {
		base string
		tk   Task
		want string
	}{
		{"runs/g/results.jsonl", Task{Index: 3, Count: 16}, "runs/g/results.task-0003-of-0016.jsonl"},
		{"runs/g/results.jsonl", Whole, "runs/g/results.jsonl"},
		{"runs/g/results.jsonl", Task{}, "runs/g/results.jsonl"},
		{"cache/manifest.json", Task{Index: 0, Count: 2}, "cache/manifest.task-0000-of-0002.json"},
		{"a.b/results", Task{Index: 1, Count: 3}, "a.b/results.task-0001-of-0003"},
		{"r.jsonl", Task{Index: 12345, Count: 20000}, "r.task-12345-of-20000.jsonl"},
	}
	for _, c := range cases {
		got := c.tk.File(c.base)
		if got != c.want {
			t.Errorf("%v.File(%s) = %s, want %s", c.tk, c.base, got, c.want)
			continue
		}
		if !c.tk.Split() {
			continue
		}
		base, back, ok := FromFile(got)
		if !ok || base != c.base || back.Index != c.tk.Index || back.Count != c.tk.Count {
			t.Errorf("FromFile(%s) = %s, %v, %v", got, base, back, ok)
		}
	}
	for _, name := range []string{"results.jsonl", "results.task-1-of-2.jsonl", "results.task-0002-of-0002.jsonl", "results.task-0000-of-0000.jsonl"} {
		if _, _, ok := FromFile(name); ok {
			t.Errorf("FromFile(%s) accepted a name without a valid task tag", name)
		}
	}
}

func TestFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a[1]")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "results.jsonl")
	names := []string{"results.jsonl", "results.task-0001-of-0003.jsonl", "results.task-0000-of-0003.jsonl",
		"results.task-0000-of-0002.jsonl", "other.task-0000-of-0003.jsonl", "results.task-0000-of-0003.jsonl.tmp", ".results.task-0002-of-0003.jsonl.tmp-1"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files(base)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "results.task-0000-of-0002.jsonl"), filepath.Join(dir, "results.task-0000-of-0003.jsonl"), filepath.Join(dir, "results.task-0001-of-0003.jsonl")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Files = %v, want %v", got, want)
	}
}
