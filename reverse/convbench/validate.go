package convbench

import (
	"fmt"
	"time"

	fc "github.com/frpt/frpt/flagcheck"
)

// Validate checks a benchmark configuration (the flags of frpt bench reverse-conv)
// before anything is measured or written.
func (cfg Config) Validate() error {
	err := fc.First(
		fc.List("--sizes", cfg.Sizes),
		fc.Each(cfg.Sizes, func(s int) error { return fc.IntAtLeast("--sizes", s, cfg.Kernel) }),
		fc.List("--methods", cfg.Methods),
		fc.List("--cases", cfg.Cases),
		fc.Each(cfg.Cases, func(c string) error { return fc.OneOf("--cases", c, Expand, Shrink) }),
		positiveDuration("--time", cfg.Budget),
		fc.IntAtLeast("--repeats", cfg.MaxRepeats, 1),
		nonNegativeDuration("--max-call-time", cfg.MaxCallTime),
	)
	if err != nil {
		return err
	}
	for _, m := range cfg.Methods {
		if err := fc.OneOf("--methods", m, AllMethods...); err != nil {
			return err
		}
	}
	if cfg.Batch < 1 || cfg.Cin < 1 || cfg.Kernel < 1 || cfg.CoutExpand < 1 || cfg.CoutShrink < 1 || cfg.MemLimit < 0 {
		return fmt.Errorf("batch, cin, kernel and couts must be positive and the memory limit not negative (got %d, %d, %d, %d/%d, %d)",
			cfg.Batch, cfg.Cin, cfg.Kernel, cfg.CoutExpand, cfg.CoutShrink, cfg.MemLimit)
	}
	if s := cfg.Stability; s != nil {
		return fc.First(
			fc.IntAtLeast("--stability-size", s.Size, cfg.Kernel),
			fc.IntAtLeast("--seeds", s.Seeds, 1),
			fc.List("--conds", s.Conds),
			fc.Each(s.Conds, func(c float64) error { return fc.AtLeast("--conds", c, 1) }),
			fc.IntAtLeast("stability cin", s.Cin, 1),
		)
	}
	return nil
}

// nonNegativeDuration requires d ≥ 0 (0: no limit).
func nonNegativeDuration(flag string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s %s: want a duration ≥ 0 (0: no limit)", flag, d)
	}
	return nil
}

// positiveDuration requires d > 0.
func positiveDuration(flag string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s %s: want a duration > 0", flag, d)
	}
	return nil
}
