// Package ratelimittest is the conformance suite every ratelimit.Limiter
// passes: the in-memory one and redisrate run the same promises.
package ratelimittest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Run checks lim. Keys are the suite's own, so lim may be shared with
// other tests as long as its key space (a Redis prefix) is not.
func Run(t *testing.T, lim ratelimit.Limiter) {
	ctx := context.Background()
	t.Run("Burst", func(t *testing.T) {
		l := ratelimit.Limit{Count: 10, Period: time.Hour}
		for i := range 10 {
			if r, err := lim.Allow(ctx, "burst", l); err != nil || !r.Allowed || r.Remaining != 9-i {
				t.Fatalf("request %d: %+v %v", i, r, err)
			}
		}
		r, err := lim.Allow(ctx, "burst", l)
		if err != nil || r.Allowed || r.RetryAfter < 5*time.Minute || r.RetryAfter > 6*time.Minute {
			t.Fatalf("eleventh: %+v %v", r, err)
		}
		if err := lim.Reset(ctx, "burst"); err != nil {
			t.Fatal(err)
		}
		if r, _ := lim.Allow(ctx, "burst", l); !r.Allowed || r.Remaining != 9 {
			t.Fatalf("after reset: %+v", r)
		}
	})
	// Ensure Peek tells what Allow would answer and counts nothing.
	t.Run("Peek", func(t *testing.T) {
		l := ratelimit.Limit{Count: 3, Period: time.Hour}
		if r, err := lim.Peek(ctx, "peek", l); err != nil || !r.Allowed || r.Remaining != 3 {
			t.Fatalf("fresh: %+v %v", r, err)
		}
		for range 5 {
			lim.Peek(ctx, "peek", l)
		}
		if r, _ := lim.Allow(ctx, "peek", l); !r.Allowed || r.Remaining != 2 {
			t.Fatalf("peeks were counted: %+v", r)
		}
		lim.Allow(ctx, "peek", l)
		if r, _ := lim.Peek(ctx, "peek", l); !r.Allowed || r.Remaining != 1 {
			t.Fatalf("one left: %+v", r)
		}
		lim.Allow(ctx, "peek", l)
		r, err := lim.Peek(ctx, "peek", l)
		if err != nil || r.Allowed || r.Remaining != 0 || r.RetryAfter < 19*time.Minute || r.RetryAfter > 20*time.Minute {
			t.Fatalf("spent: %+v %v", r, err)
		}
		if r, _ := lim.Peek(ctx, "peek", ratelimit.Limit{}); !r.Allowed {
			t.Fatal("the zero limit refused a peek")
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				r, err := lim.Allow(ctx, "conc", ratelimit.Limit{Count: 10, Period: time.Hour})
				if err != nil {
					t.Error(err)
				}
				if r.Allowed {
					allowed.Add(1)
				}
			})
		}
		wg.Wait()
		if allowed.Load() != 10 {
			t.Fatalf("%d of 50 concurrent requests allowed, want 10", allowed.Load())
		}
	})
	t.Run("Failures", func(t *testing.T) {
		if n, last, err := lim.Failures(ctx, "f"); n != 0 || !last.IsZero() || err != nil {
			t.Fatalf("empty: %d %v %v", n, last, err)
		}
		before := time.Now().Add(-time.Second)
		for i := 1; i <= 3; i++ {
			if n, err := lim.Fail(ctx, "f", time.Hour); n != i || err != nil {
				t.Fatalf("Fail %d = %d, %v", i, n, err)
			}
		}
		n, last, err := lim.Failures(ctx, "f")
		if n != 3 || err != nil || last.Before(before) {
			t.Fatalf("Failures = %d, %v, %v", n, last, err)
		}
		lim.Reset(ctx, "f")
		if n, _, _ := lim.Failures(ctx, "f"); n != 0 {
			t.Fatalf("after reset: %d", n)
		}
	})
}
