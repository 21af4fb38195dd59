package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Temporary files are named ".<target>.tmp-<host>-<pid>-<random>", so that the temporary
// file of a writer killed before its rename (SIGKILL, a power cut) can be told from one
// still being written: it is stale when its process, on this host, is gone. Write removes
// the stale temporary files of its own target, and RemoveStale those of a whole folder;
// a job's rerun so leaves no debris behind. Temporary files of other hosts (a shared
// folder on a cluster) are only removed once older than StaleAge.

// StaleAge is the age after which any temporary file of this package is stale, whatever
// its host (no write takes a day).
const StaleAge = 24 * time.Hour

const tmpInfix = ".tmp-"

var (
	hostOnce sync.Once
	hostName string
)

// host is this machine's name, reduced to characters safe in a file name.
func host() string {
	hostOnce.Do(func() {
		h, _ := os.Hostname()
		h = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' {
				return r
			}
			return '_'
		}, h)
		if h == "" {
			h = "host"
		}
		hostName = h
	})
	return hostName
}

// tmpPattern is the os.CreateTemp pattern of target's temporary files.
func tmpPattern(target string) string {
	return "." + filepath.Base(target) + tmpInfix + host() + "-" + strconv.Itoa(os.Getpid()) + "-*"
}

// stale reports whether the temporary file name (in a folder, with its info) was left
// by a writer that is gone.
func stale(name string, info os.FileInfo) bool {
	if time.Since(info.ModTime()) > StaleAge {
		return true
	}
	_, rest, ok := strings.Cut(name, tmpInfix)
	if !ok {
		return false
	}
	// rest = host-pid-random; the host may itself hold '-' replaced by '_', so split
	// from the right.
	i := strings.LastIndexByte(rest, '-')
	if i < 0 {
		return false
	}
	j := strings.LastIndexByte(rest[:i], '-')
	if j < 0 {
		return false
	}
	h, pidText := rest[:j], rest[j+1:i]
	pid, err := strconv.Atoi(pidText)
	if err != nil || h != host() || pid == os.Getpid() {
		return false
	}
	return !processAlive(pid)
}

// IsTemp reports whether a file name is a temporary file of this package.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, tmpInfix)
}

// removeStaleOf removes the stale temporary files of target.
func removeStaleOf(target string) {
	dir, prefix := filepath.Dir(target), "."+filepath.Base(target)+tmpInfix
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			removeIfStale(dir, e)
		}
	}
}

func removeIfStale(dir string, e os.DirEntry) {
	info, err := e.Info()
	if err != nil || !info.Mode().IsRegular() {
		return
	}
	if stale(e.Name(), info) {
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// RemoveStale removes the stale temporary files in dir (not in its sub-folders): those of
// writers on this host that are no longer running, and any older than StaleAge. A
// missing folder is not an error. Long jobs call it on their output folders when they
// start or resume.
func RemoveStale(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if IsTemp(e.Name()) {
			removeIfStale(dir, e)
		}
	}
	return nil
}
