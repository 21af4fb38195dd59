package pipeline

import (
	"encoding/json"
	"fmt"
	"github.com/frpt/frpt/atomicfile"
	"os"
)

// WriteFileAtomic writes data to path through a temporary file in the same folder and a
// rename, so that path holds either the old or the new content, never a partial one.
func WriteFileAtomic(path string, data []byte) error { return atomicfile.WriteBytes(path, data) }

// WriteJSON writes v as indented JSON to path atomically.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return WriteFileAtomic(path, append(b, '\n'))
}

// readJSON decodes path into v.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
