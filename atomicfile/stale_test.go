package atomicfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Skipf("cannot start a process to get a dead pid: %v", err)
	}
	return c.Process.Pid
}

// The temporary files of killed writers (this host, process gone) and any older than
// StaleAge are removed; those of running writers and of other hosts are kept.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	name := func(target, h string, pid int) string {
		return "." + target + tmpInfix + h + "-" + strconv.Itoa(pid) + "-123456"
	}
	dead := deadPID(t)
	files := map[string]bool{ // name → removed
		name("a.json", host(), dead):         true,
		name("b.json", host(), os.Getppid()): false, // running
		name("c.json", "other_host", dead):   false, // another machine's: unknown
		name("d.json", "other_host", dead+1): true,  // …but old
		".e.json.tmp-123":                    false, // old-style name, recent
		"f.json":                             false,
		name("g.json", host(), os.Getpid()):  false, // this process's own
	}
	for n := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * StaleAge)
	os.Chtimes(filepath.Join(dir, name("d.json", "other_host", dead+1)), old, old)
	if err := RemoveStale(dir); err != nil {
		t.Fatal(err)
	}
	for n, removed := range files {
		_, err := os.Stat(filepath.Join(dir, n))
		if gone := os.IsNotExist(err); gone != removed {
			t.Errorf("%s: removed %v, want %v", n, gone, removed)
		}
	}
	// Writing a file removes the debris of its own killed writes.
	debris := name("h.json", host(), dead)
	os.WriteFile(filepath.Join(dir, debris), []byte("partial"), 0o644)
	if err := WriteBytes(filepath.Join(dir, "h.json"), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, debris)); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file of h.json is still there (%v)", err)
	}
	if err := RemoveStale(filepath.Join(dir, "missing")); err != nil {
		t.Errorf("a missing folder: %v", err)
	}
}
