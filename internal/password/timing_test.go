package password_test

import (
	"slices"
	"time"
)

// medianRatio runs a and b alternately n times and returns median(b)/median(a).
func medianRatio(n int, a, b func()) float64 {
	var ta, tb []time.Duration
	for range n {
		s := time.Now()
		a()
		ta = append(ta, time.Since(s))
		s = time.Now()
		b()
		tb = append(tb, time.Since(s))
	}
	slices.Sort(ta)
	slices.Sort(tb)
	return float64(tb[n/2]) / float64(ta[n/2])
}
