package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// WriteDir builds the folder dir atomically, for outputs made of many files that only
// make sense together (an explain run's maps, panels and pages): fill writes the whole
// content into a fresh temporary folder beside dir with plain writes (nothing there is
// visible under dir's name, so no per-file rename or sync is needed); the temporary
// folder's file system is then flushed once and the folder takes dir's place, by an
// atomic exchange where dir already exists (Linux renameat2 RENAME_EXCHANGE; elsewhere
// dir is first renamed aside) or a rename where it does not; the old content is then
// removed. On any error the temporary folder is removed and dir is left as it was.
func WriteDir(dir string, fill func(tmp string) error) (err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("write %s: exists and is not a folder", dir)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if err := syncTree(tmp); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	if _, statErr := os.Stat(dir); errors.Is(statErr, os.ErrNotExist) {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("write %s: %w", dir, err)
		}
		syncDir(parent)
		return nil
	}
	if err := exchange(tmp, dir); err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	syncDir(parent)
	os.RemoveAll(tmp) // now the old content
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// renameAside moves b to a temporary name, a to b, and b's old content to a's name.
func renameAside(a, b string) error {
	old := a + ".old"
	if err := os.Rename(b, old); err != nil {
		return err
	}
	if err := os.Rename(a, b); err != nil {
		_ = os.Rename(old, b)
		return err
	}
	return os.Rename(old, a)
}
