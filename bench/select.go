package bench

import (
	"fmt"
	"strings"
	"time"
)

// Select returns the rows whose name starts with one of prefixes (every row for none),
// after checking the options of frpt bench: a prefix that selects no row and a budget
// that is not positive are refused, naming the rows there are.
func Select(prefixes []string, budget time.Duration) ([]Spec, error) {
	if budget <= 0 {
		return nil, fmt.Errorf("--time %s: want a duration > 0", budget)
	}
	specs := Specs()
	if len(prefixes) == 0 {
		return specs, nil
	}
	var out []Spec
	for _, s := range specs {
		for _, p := range prefixes {
			if strings.HasPrefix(s.Name, p) {
				out = append(out, s)
				break
			}
		}
	}
	for _, p := range prefixes {
		hit := false
		for _, s := range specs {
			hit = hit || strings.HasPrefix(s.Name, p)
		}
		if !hit {
			names := make([]string, len(specs))
			for i, s := range specs {
				names[i] = s.Name
			}
			return nil, fmt.Errorf("row %q: no benchmark row starts with it (rows: %s)", p, strings.Join(names, ", "))
		}
	}
	return out, nil
}
