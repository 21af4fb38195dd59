//go:build !linux

package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// exchange puts folder a in b's place by renaming b aside first (not atomic: for a
// moment b does not exist), leaving b's old content at a.
func exchange(a, b string) error { return renameAside(a, b) }

// syncTree syncs every file under dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
