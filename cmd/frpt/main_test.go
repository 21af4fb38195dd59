package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI in-process with args and returns its error and output.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// Bad input fails with one error that names what is at fault (the file, flag or value),
// before any long work starts.
func TestBadInputErrorsNameTheCulprit(t *testing.T) {
	dir := t.TempDir()
	truncated := filepath.Join(dir, "cut.safetensors")
	if err := os.WriteFile(truncated, []byte{0x10, 0, 0, 0, 0, 0, 0, 0, '{'}, 0o644); err != nil {
		t.Fatal(err)
	}
	emptyCache := filepath.Join(dir, "cache")
	if err := os.Mkdir(emptyCache, 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "no-such-net", "--epochs", "1", "--out", filepath.Join(dir, "r")}, "no-such-net"},
		{[]string{"train", "--dataset", "no-such-data", "--epochs", "1", "--out", filepath.Join(dir, "r2")}, "no-such-data"},
		{[]string{"eval", "--model", "simplecnn-v2", "--dataset", "mnist", "--weights", filepath.Join(dir, "missing.safetensors")}, "missing.safetensors"},
		{[]string{"eval", "--model", "simplecnn-v2", "--dataset", "mnist", "--weights", truncated}, "cut.safetensors"},
		{[]string{"posttrain", "--cache", emptyCache, "--weights", truncated}, "manifest"},
		{[]string{"posttrain", "--cache", emptyCache}, "--weights"},
		{[]string{"demo", "--crec", "0,-0.1", "--out", filepath.Join(dir, "demo")}, "-0.1"},
		{[]string{"ablate-embeddings", "--weights", truncated, "--alphas", "0.1,x"}, "--alphas"},
		{[]string{"train", "--drop-class", "10", "--epochs", "1", "--out", filepath.Join(dir, "r3")}, "--drop-class 10"},
		{[]string{"train", "--drop-fraction", "0.5", "--epochs", "1", "--out", filepath.Join(dir, "r4")}, "--drop-class"},
		{[]string{"train", "--drop-class", "4", "--drop-fraction", "1.5", "--epochs", "1", "--out", filepath.Join(dir, "r5")}, "--drop-fraction 1.5"},
		{[]string{"no-such-command"}, "no-such-command"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil {
			t.Errorf("frpt %s: no error", strings.Join(c.args, " "))
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("frpt %s: error %q should be one line naming %q", strings.Join(c.args, " "), msg, c.want)
		}
	}
}

// Every command has help text.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range newRoot().Commands() {
		if c.Short == "" {
			t.Errorf("command %q has no short help", c.Name())
		}
		out, err := run(t, c.Name(), "--help")
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("frpt %s --help: err %v, output %q", c.Name(), err, out)
		}
	}
}

// --memprofile writes a heap profile after the command; an unwritable path is an error
// naming the flag.
func TestMemProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pprof")
	if _, err := run(t, "--memprofile", path, "info", "--model", "simplecnn-v2", "--dataset", "mnist"); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		t.Fatalf("--memprofile %s: no profile written (%v)", path, err)
	}
	// Outputs create their folder (atomicfile), so the unwritable path lies under a file.
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, "--memprofile", filepath.Join(file, "heap.pprof"), "info", "--model", "simplecnn-v2", "--dataset", "mnist")
	if err == nil || !strings.Contains(err.Error(), "--memprofile") {
		t.Errorf("unwritable --memprofile: error %v, want one naming the flag", err)
	}
}
