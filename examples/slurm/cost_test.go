package slurm

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("%s: %d rows, %v", path, len(rows), err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func num(t *testing.T, row map[string]string, field string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(row[field], 64)
	if err != nil || v < 0 || math.IsNaN(v) {
		t.Fatalf("field %s = %q: %v", field, row[field], err)
	}
	return v
}

// TestCostScriptAndTable checks that cost.sh parses (bash -n) and recomputes the committed
// table from the committed measurements: for each model the fastest repeat, 120 runs of
// 10 epochs over the full training set plus 10k test images per epoch, plus the cache on
// 2 cores; the wall times on 1, 16 and 128 nodes of 2 cores. It also checks that the
// speed-up measurement found the 2-task results equal to the 1-task results.
func TestCostScriptAndTable(t *testing.T) {
	if out, err := exec.Command("bash", "-n", "cost.sh").CombinedOutput(); err != nil {
		t.Fatalf("bash -n cost.sh: %v\n%s", err, out)
	}
	dir := filepath.Join("..", "..", "results", "cost")
	type best struct{ recon, train, test, full float64 }
	fastest := map[string]*best{}
	for _, r := range readCSV(t, filepath.Join(dir, "runs.csv")) {
		k := r["model"] + "/" + r["dataset"]
		b := best{num(t, r, "recon_images_per_s"), num(t, r, "train_s_per_image"), num(t, r, "test_s_per_image"), num(t, r, "full_train_images")}
		if p, ok := fastest[k]; !ok {
			fastest[k] = &b
		} else {
			p.recon, p.train, p.test = max(p.recon, b.recon), min(p.train, b.train), min(p.test, b.test)
		}
	}
	for _, k := range []string{"simplecnn-v2/mnist", "simplecnn-v2/fashion-mnist", "resnet18/cifar10", "simplevit/cifar10"} {
		if fastest[k] == nil {
			t.Errorf("runs.csv has no measurement of %s", k)
		}
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 0.01*want+1e-9 { // the table has 3 significant figures
			t.Errorf("%s: table %g, recomputed %g", what, got, want)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "grid.csv"))
	if len(rows) != len(fastest) {
		t.Errorf("grid.csv has %d rows, runs.csv %d models", len(rows), len(fastest))
	}
	for _, r := range rows {
		k := r["model"] + "/" + r["dataset"]
		b := fastest[k]
		if b == nil {
			t.Errorf("grid.csv row %s not measured in runs.csv", k)
			continue
		}
		runS := 10 * (b.full*b.train + 10000*b.test)
		cacheS := b.full / b.recon
		near(k+" run hours", num(t, r, "run_hours_1thread"), runS/3600)
		near(k+" CPU-hours", num(t, r, "cpu_hours"), (120*runS+2*cacheS)/3600)
		for _, n := range []struct {
			field string
			nodes float64
		}{{"wall_hours_1node", 1}, {"wall_hours_16nodes", 16}, {"wall_hours_128nodes", 128}} {
			near(k+" "+n.field, num(t, r, n.field), (cacheS/n.nodes+math.Ceil(120/(2*n.nodes))*runS)/3600)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "speedup.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Runs    int     `json:"runs"`
		One     float64 `json:"one_task_seconds"`
		Two     float64 `json:"two_tasks_seconds"`
		Speedup float64 `json:"speedup_two_over_one"`
		Equal   bool    `json:"results_equal"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("speedup.json: %v", err)
	}
	if !s.Equal || s.Runs == 0 || s.One <= 0 || s.Two <= 0 {
		t.Errorf("speedup.json: %+v", s)
	}
	near("speed-up", s.Speedup, s.One/s.Two)
}
