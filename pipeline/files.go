package pipeline

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/frpt/frpt/atomicfile"
	"github.com/frpt/frpt/checkpoint"
	"github.com/frpt/frpt/models"
	"github.com/frpt/frpt/task"
)

// WriteFileAtomic writes data to path through a temporary file in the same folder and a
// rename, so that path holds either the old or the new content, never a partial one.
func WriteFileAtomic(path string, data []byte) error { return atomicfile.WriteBytes(path, data) }

// removeStale removes what killed earlier runs left in a job's output folders: temporary
// files of writes that never reached their rename (atomicfile.RemoveStale).
func removeStale(dirs ...string) {
	for _, d := range dirs {
		_ = atomicfile.RemoveStale(d) // best effort: a leftover is garbage, not an error
	}
}

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

// readJSONLines reads a JSON-lines file; a missing file is empty and a torn last line
// (from an interrupted append by another tool) is ignored. Any other bad line is an error
// naming the file and the line.
func readJSONLines[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return decodeJSONLines[T](path, f)
}

// decodeJSONLines is readJSONLines on the content of the file path.
func decodeJSONLines[T any](path string, f io.Reader) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r T
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			if !sc.Scan() {
				break // torn final line
			}
			return nil, fmt.Errorf("read %s line %d: %w", path, line, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return out, nil
}

// writeJSONLines rewrites path atomically with one JSON line per record.
func writeJSONLines[T any](path string, recs []T) error {
	var buf []byte
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		buf = append(append(buf, b...), '\n')
	}
	return WriteFileAtomic(path, buf)
}

// loadModel builds the zoo model for dataset (initialised with seed, which matters only for
// layers the checkpoint does not hold, such as dropout) and loads the weights file into it.
// LoadInto's error names the file and the tensor at fault.
func loadModel(model, dataset string, seed uint64, weights string) (models.Model[float32], error) {
	m, err := models.New[float32](model, dataset, seed)
	if err != nil {
		return nil, err
	}
	if err := loadWeights(m, weights); err != nil {
		return nil, err
	}
	return m, nil
}

// loadWeights loads a weights file into m: through the model itself when it loads its
// own (an imported model: a state_dict whose num_batches_tracked may be absent, or an
// ONNX file's initializers), else by name with checkpoint.LoadInto.
func loadWeights(m models.Model[float32], weights string) error {
	if wl, ok := m.(models.WeightLoader); ok {
		return wl.LoadWeights(weights)
	}
	_, err := checkpoint.LoadInto(weights, m.Params())
	return err
}

// readTaskRecords reads the JSON-lines records of base and of every task file beside it
// (task.Files: base first, then the task files in name order) into one map by key. A
// record found in several files is taken from the first; when differ is given and
// reports the two as different, that is an error naming both files. what names the
// command in errors.
func readTaskRecords[T any](base, what string, key func(T) string, differ func(a, b T) bool) (map[string]T, error) {
	files, err := task.Files(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	all, from := map[string]T{}, map[string]string{}
	for _, f := range append([]string{base}, files...) {
		recs, err := readJSONLines[T](f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		for _, r := range recs {
			k := key(r)
			prev, ok := all[k]
			switch {
			case !ok:
				all[k], from[k] = r, f
			case differ != nil && differ(prev, r):
				return nil, fmt.Errorf("%s: %s is in %s and in %s with different results", what, k, from[k], f)
			}
		}
	}
	return all, nil
}
