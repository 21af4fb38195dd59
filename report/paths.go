package report

import (
	"path/filepath"
)

// RecordedPath is how a results file at file records the path of another file, such as
// the pretrained weights a run started from: relative to the results file's folder, with
// forward slashes, so that a results folder moves with the files it names and records no
// local absolute path. A relative target is taken relative to the working directory;
// Resolve turns the recorded path back into one usable from there.
func RecordedPath(file, target string) string {
	if target == "" {
		return ""
	}
	dir, err1 := filepath.Abs(filepath.Dir(file))
	abs, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil {
		return filepath.ToSlash(filepath.Base(target))
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		return filepath.ToSlash(filepath.Base(target))
	}
	return filepath.ToSlash(rel)
}

// Resolve is the path, usable from the working directory, of a path recorded in the
// results file at file: relative ones are relative to the file's folder; absolute ones
// (results files written before paths were recorded relative) are returned unchanged.
func Resolve(file, recorded string) string {
	if recorded == "" || filepath.IsAbs(recorded) {
		return recorded
	}
	return filepath.Join(filepath.Dir(file), filepath.FromSlash(recorded))
}

// relativeRecorded turns an absolute path recorded by an older results file at file into
// the relative form RecordedPath writes; relative paths are kept.
func relativeRecorded(file, recorded string) string {
	if !filepath.IsAbs(recorded) {
		return recorded
	}
	return RecordedPath(file, recorded)
}
