package pipeline

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Mismatch messages: a cache, results file or training run on disk that does not fit the
// job asking for it is refused with every differing field, by its JSON name, and both
// values, such as `embedding: cache has "nearest", this run asks "one-hot"`.

// fieldDiffs compares two values of one struct type field by field and returns one
// "<json name>: <where> has X, this run asks Y" per differing field, in field order.
// Fields tagged json:"-" and those named in skip are not compared; values are shown as
// JSON.
func fieldDiffs(have, want any, where string, skip ...string) []string {
	hv, wv := reflect.ValueOf(have), reflect.ValueOf(want)
	if hv.Type() != wv.Type() || hv.Kind() != reflect.Struct {
		panic(fmt.Sprintf("fieldDiffs: %T and %T are not one struct type", have, want))
	}
	var out []string
	for i := 0; i < hv.NumField(); i++ {
		f := hv.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if slices.Contains(skip, name) {
			continue
		}
		a, b := hv.Field(i).Interface(), wv.Field(i).Interface()
		if reflect.DeepEqual(a, b) || (isEmptyList(a) && isEmptyList(b)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s has %s, this run asks %s", name, where, showJSON(a), showJSON(b)))
	}
	return out
}

// isEmptyList reports whether v is a nil or empty slice (equal for JSON).
func isEmptyList(v any) bool {
	r := reflect.ValueOf(v)
	return r.Kind() == reflect.Slice && r.Len() == 0
}

// showJSON renders a value as JSON, shortened to 80 bytes.
func showJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 80 {
		return string(b[:77]) + "…"
	}
	return string(b)
}

// cacheFits checks that a feature cache was made for this model and dataset from these
// weights (sha is the SHA-256 of the weights file at weightsPath).
func (c *Cache) fits(model, dataset, weightsPath, sha string) error {
	type job struct {
		Model   string `json:"model"`
		Dataset string `json:"dataset"`
	}
	d := fieldDiffs(job{c.Manifest.Model, c.Manifest.Dataset}, job{model, dataset}, "cache")
	if c.Manifest.WeightsSHA256 != sha {
		d = append(d, fmt.Sprintf("weights_sha256: cache has %.12s… (reconstructed from %s), --weights %s has %.12s…",
			c.Manifest.WeightsSHA256, c.Manifest.Weights, weightsPath, sha))
	}
	if len(d) > 0 {
		return fmt.Errorf("cache %s does not fit this run: %s", c.Dir, strings.Join(d, "; "))
	}
	return nil
}

// runSettings are the settings every post-training run of one experiment (model and mode)
// in a results file must share: runs are keyed by tap, c_rec and seed only, so a run made
// with other settings would be taken as done.
type runSettings struct {
	Dataset       string  `json:"dataset"`
	Epochs        int     `json:"epochs"`
	Batch         int     `json:"batch"`
	LR            float64 `json:"lr"`
	WD            float64 `json:"weight_decay"`
	WeightsSHA256 string  `json:"weights_sha256"`
	TestLimit     int     `json:"test_limit"`
}

// resultsFit checks the runs already in a results file against the grid about to extend
// it: every run of the same model and mode must have the grid's settings (the weights'
// hash is compared where the file records it; files written before it was recorded
// hold the weights' path only).
func resultsFit(path string, done []RunResult, g GridConfig, sha string) error {
	want := runSettings{g.Base.Dataset, g.Base.Epochs, g.Base.Batch, g.Base.LR, g.Base.WD, sha, g.TestLimit}
	for _, r := range done {
		if r.Model != g.Base.Model || r.Mode != g.Base.Mode {
			continue
		}
		have := runSettings{r.Dataset, r.Epochs, r.Batch, r.LR, r.WD, r.WeightsSHA256, r.TestLimit}
		if have.WeightsSHA256 == "" {
			have.WeightsSHA256 = sha
		}
		if d := fieldDiffs(have, want, "results file"); len(d) > 0 {
			return fmt.Errorf("results %s: run %s was made with other settings: %s; use another --results or the same settings",
				path, r.Key(), strings.Join(d, "; "))
		}
	}
	return nil
}
