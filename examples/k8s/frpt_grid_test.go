package k8s

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// job is the part of a batch/v1 Job that frpt's example relies on.
type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode       string `yaml:"completionMode"`
		Completions          *int   `yaml:"completions"`
		Parallelism          *int   `yaml:"parallelism"`
		BackoffLimitPerIndex *int   `yaml:"backoffLimitPerIndex"`
		Template             struct {
			Spec struct {
				RestartPolicy string      `yaml:"restartPolicy"`
				Containers    []container `yaml:"containers"`
				Volumes       []struct {
					Name string         `yaml:"name"`
					PVC  map[string]any `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Env     []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom struct {
			ResourceFieldRef struct {
				Resource string `yaml:"resource"`
			} `yaml:"resourceFieldRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Resources struct {
		Limits map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.ValueFrom.ResourceFieldRef.Resource != "" {
				return "resource:" + e.ValueFrom.ResourceFieldRef.Resource, true
			}
			return e.Value, true
		}
	}
	return "", false
}

// flag is the value of --name in args ("" when absent).
func flag(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// pathFlags are frpt's flags that name files or folders.
var pathFlags = []string{"--cache", "--weights", "--results", "--out", "--data"}

func loadJob(t *testing.T) job {
	t.Helper()
	b, err := os.ReadFile("frpt-grid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var j job
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("frpt-grid.yaml: %v", err)
	}
	return j
}

// The Indexed Job's fields that frpt depends on: indexed completion, completions equal to
// FRPT_TASKS (frpt's task count), a parallelism within them, threads from the CPU limit
// equal to the grid's --workers, and every path of the command on a mounted volume.
func TestGridJob(t *testing.T) {
	j := loadJob(t)
	s := j.Spec
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		t.Fatalf("want a batch/v1 Job, got %s %s", j.APIVersion, j.Kind)
	}
	if s.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q: want Indexed (frpt reads JOB_COMPLETION_INDEX)", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil {
		t.Fatal("completions and parallelism must be set")
	}
	if *s.Parallelism < 1 || *s.Parallelism > *s.Completions {
		t.Errorf("parallelism %d: want 1…completions (%d)", *s.Parallelism, *s.Completions)
	}
	if s.BackoffLimitPerIndex != nil && s.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("backoffLimitPerIndex needs restartPolicy Never, got %q", s.Template.Spec.RestartPolicy)
	}
	cs := s.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers; want the frpt container", len(cs))
	}
	c := cs[0]
	if len(c.Args) == 0 || c.Args[0] != "posttrain" {
		t.Fatalf("args %v: want frpt posttrain …", c.Args)
	}
	n, ok := c.env("FRPT_TASKS")
	if !ok {
		t.Fatal("FRPT_TASKS is not set: frpt needs the task count beside JOB_COMPLETION_INDEX")
	}
	if v, err := strconv.Atoi(n); err != nil || v != *s.Completions {
		t.Errorf("FRPT_TASKS %q, completions %d: they must be equal", n, *s.Completions)
	}
	if flag(c.Args, "--task") != "" || flag(c.Args, "--tasks") != "" {
		t.Error("the command fixes --task/--tasks: every index would do the same share")
	}
	if v, _ := c.env("GOMAXPROCS"); v != "resource:limits.cpu" {
		t.Errorf("GOMAXPROCS %q: want it from the CPU limit", v)
	}
	if w := flag(c.Args, "--workers"); w != c.Resources.Limits["cpu"] {
		t.Errorf("--workers %q and CPU limit %q differ (each run takes one thread)", w, c.Resources.Limits["cpu"])
	}
	volumes := map[string]bool{}
	for _, v := range s.Template.Spec.Volumes {
		if v.PVC == nil {
			t.Errorf("volume %s is not a persistent volume claim: the tasks need one shared folder", v.Name)
		}
		volumes[v.Name] = true
	}
	for _, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			t.Errorf("mount %s at %s names no volume of the pod", m.Name, m.MountPath)
		}
	}
	paths := 0
	for _, f := range pathFlags {
		p := flag(c.Args, f)
		if p == "" {
			continue
		}
		paths++
		on := false
		for _, m := range c.VolumeMounts {
			if rel, err := filepath.Rel(m.MountPath, p); err == nil && !strings.HasPrefix(rel, "..") {
				on = true
			}
		}
		if !on {
			t.Errorf("%s %s is on no mounted volume", f, p)
		}
	}
	if paths < 3 {
		t.Errorf("the command names %d paths; want --cache, --weights and --results", paths)
	}
}

// frpt itself accepts the Job's command as index 3 of the Job would run it: every flag
// parses, and the first fault is the (here empty) shared volume's missing cache.
func TestGridJobCommandParses(t *testing.T) {
	c := loadJob(t).Spec.Template.Spec.Containers[0]
	dir := t.TempDir()
	bin := filepath.Join(dir, "frpt")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/frpt/frpt/cmd/frpt").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	mount := c.VolumeMounts[0].MountPath
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = strings.Replace(a, mount, filepath.Join(dir, "shared"), 1)
	}
	cmd := exec.Command(bin, args...)
	n, _ := c.env("FRPT_TASKS")
	cmd.Env = append(os.Environ(), "JOB_COMPLETION_INDEX=3", "FRPT_TASKS="+n)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("frpt ran without a cache: %s", out)
	}
	if !strings.Contains(string(out), "cache "+filepath.Join(dir, "shared", "cache")) {
		t.Errorf("want frpt to stop at the missing cache, got: %s", out)
	}
}

// The Dockerfile builds a static binary (CGO_ENABLED=0) onto a distroless or Debian-slim
// base, and the MNIST folder it copies exists in this module's download.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := string(b)
	if !strings.Contains(d, "CGO_ENABLED=0 go build") {
		t.Error("the binary is not built static (CGO_ENABLED=0)")
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(d, -1)
	if len(froms) == 0 || !regexp.MustCompile(`distroless|-slim`).MatchString(froms[len(froms)-1][1]) {
		t.Errorf("final base %v: want distroless or Debian slim", froms)
	}
	m := regexp.MustCompile(`\$\(go env GOMODCACHE\)/([^"]+)/"`).FindStringSubmatch(d)
	if m == nil {
		t.Fatal("the Dockerfile copies no MNIST folder from the module cache")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(m[1]))
	if _, err := os.Stat(filepath.Join(dir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Errorf("the Dockerfile's MNIST folder: %v (go mod download first)", err)
	}
}
