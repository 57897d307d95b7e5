package ratelimit_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/ratelimit/ratelimittest"
)

func TestMemoryConformance(t *testing.T) { ratelimittest.Run(t, ratelimit.NewMemory(nil)) }

// broken is a limiter whose every call fails, as an unreachable Redis.
type broken struct{ calls atomic.Int32 }

var errDown = errors.New("connection refused")

func (b *broken) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	b.calls.Add(1)
	return ratelimit.Result{}, errDown
}
func (b *broken) Peek(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	b.calls.Add(1)
	return ratelimit.Result{}, errDown
}
func (b *broken) Fail(context.Context, string, time.Duration) (int, error) {
	b.calls.Add(1)
	return 0, errDown
}
func (b *broken) Failures(context.Context, string) (int, time.Time, error) {
	b.calls.Add(1)
	return 0, time.Time{}, errDown
}
func (b *broken) Reset(context.Context, string) error { b.calls.Add(1); return errDown }

// Ensure an unreachable Redis falls back to memory without an error, is
// counted, and is skipped during the cooldown.
func TestFallback(t *testing.T) {
	dead := &broken{}
	var fallbacks atomic.Int32
	f := &ratelimit.Fallback{Primary: dead, Secondary: ratelimit.NewMemory(nil), Cooldown: time.Hour, OnFallback: func() { fallbacks.Add(1) }}
	ctx := context.Background()
	l := ratelimit.Limit{Count: 3, Period: time.Hour}
	allowed := 0
	for range 5 {
		r, err := f.Allow(ctx, "k", l)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed {
			allowed++
		}
	}
	if allowed != 3 || fallbacks.Load() != 5 {
		t.Fatalf("allowed %d (want 3), fallbacks %d (want 5)", allowed, fallbacks.Load())
	}
	if n, err := f.Fail(ctx, "f", time.Hour); n != 1 || err != nil {
		t.Fatalf("Fail = %d, %v", n, err)
	}
	if n := dead.calls.Load(); n != 1 {
		t.Fatalf("the primary was asked %d times during its cooldown, want once", n)
	}
}
