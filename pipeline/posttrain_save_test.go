package pipeline

import (
	"regexp"
	"testing"
)

// Saved-weights file names are safe for a file system and never shared by two run keys.
func TestSavedStemSafeAndDistinct(t *testing.T) {
	safe := regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9._-]*$`)
	base := PostTrainConfig{Model: "simplecnn-v2", Mode: "coupled", Tap: "z1", CRec: 0.1, Seed: 3}
	if got := savedStem(base); got != "simplecnn-v2-coupled-z1-c0.1-s3" {
		t.Errorf("zoo run: %q", got)
	}
	runs := []PostTrainConfig{base}
	for _, change := range []func(*PostTrainConfig){
		func(r *PostTrainConfig) { r.Model = "/some/dir/My Model.onnx" },
		func(r *PostTrainConfig) { r.Model = "/other/My_Model.onnx" },
		func(r *PostTrainConfig) { r.Tap = "a/b" },
		func(r *PostTrainConfig) { r.Tap = "a_b" },
		func(r *PostTrainConfig) { r.Tap = "../../etc" },
		func(r *PostTrainConfig) { r.Mode, r.Tap = "hierarchical", HierarchicalTap },
		func(r *PostTrainConfig) { r.CRec = 1e-5 },
		func(r *PostTrainConfig) { r.Seed = 30 },
	} {
		r := base
		change(&r)
		runs = append(runs, r)
	}
	seen := map[string]string{}
	for _, r := range runs {
		s := savedStem(r)
		if !safe.MatchString(s) {
			t.Errorf("%s: file name %q is not safe", r.Key(), s)
		}
		if k, ok := seen[s]; ok {
			t.Errorf("%s and %s share the file name %q", k, r.Key(), s)
		}
		seen[s] = r.Key()
	}
}
