package password_test

import (
	"slices"
	"time"
)

// minRatio runs a and b alternately n times and returns min(b)/min(a).
// The fastest run of each is the one least disturbed by other work on
// the machine, so the ratio holds on a busy machine where medians drift.
func minRatio(n int, a, b func()) float64 {
	var ta, tb []time.Duration
	for range n {
		s := time.Now()
		a()
		ta = append(ta, time.Since(s))
		s = time.Now()
		b()
		tb = append(tb, time.Since(s))
	}
	return float64(slices.Min(tb)) / float64(slices.Min(ta))
}
