package cli

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Ensure the extra Ps come with refusals and go once they stop, and that
// the count the process started with is restored when the server stops.
// It changes the process's GOMAXPROCS, so it runs alone (no t.Parallel).
func TestHeadroomFollowsRefusals(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(base)
	var refused atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { headroom(ctx, refused.Load, 2, time.Millisecond, 5); close(done) }()
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (GOMAXPROCS %d)", what, runtime.GOMAXPROCS(0))
			}
		}
	}
	// Refusals keep coming until the Ps are raised.
	waitUntil("the raise", func() bool { refused.Add(1); return runtime.GOMAXPROCS(0) == base+2 })
	waitUntil("the fall once refusals stop", func() bool { return runtime.GOMAXPROCS(0) == base })
	waitUntil("a second raise", func() bool { refused.Add(1); return runtime.GOMAXPROCS(0) == base+2 })
	cancel()
	<-done
	if n := runtime.GOMAXPROCS(0); n != base {
		t.Fatalf("GOMAXPROCS after the server stopped = %d, want %d", n, base)
	}
}
