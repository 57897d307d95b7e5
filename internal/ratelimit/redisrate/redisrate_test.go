package redisrate_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/ratelimit/ratelimittest"
	"github.com/latchauth/latch/internal/ratelimit/redisrate"
)

// client connects to LATCH_TEST_REDIS_URL, or skips.
func client(tb testing.TB) *redis.Client {
	tb.Helper()
	url := os.Getenv("LATCH_TEST_REDIS_URL")
	if url == "" {
		tb.Skip("LATCH_TEST_REDIS_URL not set (.ci/run sets it)")
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatal(err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() { c.Close() })
	return c
}

// prefix is a key space of the test's own, so tests run in parallel and
// repeatedly on one server.
func prefix() string { return "latch-test:" + rand.Text()[:12] + ":" }

func TestConformance(t *testing.T) { ratelimittest.Run(t, redisrate.New(client(t), prefix())) }

// Ensure Redis buckets refill on Redis's clock and failures expire.
func TestRefillAndExpiry(t *testing.T) {
	r := redisrate.New(client(t), prefix())
	ctx := context.Background()
	// One request refills every 3 s, so the third is refused however slow
	// the three calls are (up to 3 s).
	l := ratelimit.Limit{Count: 2, Period: 6 * time.Second}
	r.Allow(ctx, "k", l)
	r.Allow(ctx, "k", l)
	if res, _ := r.Allow(ctx, "k", l); res.Allowed || res.RetryAfter <= 0 || res.RetryAfter > 3*time.Second {
		t.Fatalf("third request: %+v, want refused with Retry-After up to 3 s", res)
	}
	// Redis's clock cannot be moved; poll for the refill instead of
	// sleeping a fixed time.
	deadline := time.Now().Add(30 * time.Second)
	for res, _ := r.Allow(ctx, "k", l); !res.Allowed; res, _ = r.Allow(ctx, "k", l) {
		if time.Now().After(deadline) {
			t.Fatal("not refilled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.Fail(ctx, "f", 150*time.Millisecond)
	for n, _, _ := r.Failures(ctx, "f"); n != 0; n, _, _ = r.Failures(ctx, "f") {
		if time.Now().After(deadline) {
			t.Fatalf("failures did not expire: %d", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Ensure two limiters on one Redis share a bucket (two instances).
func TestShared(t *testing.T) {
	p := prefix()
	a, b := redisrate.New(client(t), p), redisrate.New(client(t), p)
	ctx := context.Background()
	l := ratelimit.Limit{Count: 4, Period: time.Hour}
	allowed := 0
	for i := range 8 {
		lim := a
		if i%2 == 1 {
			lim = b
		}
		if r, _ := lim.Allow(ctx, "shared", l); r.Allowed {
			allowed++
		}
	}
	if allowed != 4 {
		t.Fatalf("%d allowed across two limiters, want 4", allowed)
	}
}

// Ensure a healthy primary is used and the secondary stays empty.
func TestFallbackUsesPrimary(t *testing.T) {
	prim := redisrate.New(client(t), prefix())
	sec := ratelimit.NewMemory(nil)
	f := &ratelimit.Fallback{Primary: prim, Secondary: sec}
	ctx := context.Background()
	f.Allow(ctx, "k", ratelimit.Limit{Count: 1, Period: time.Hour})
	if r, _ := prim.Allow(ctx, "k", ratelimit.Limit{Count: 1, Period: time.Hour}); r.Allowed {
		t.Fatal("the primary did not count the request")
	}
	if r, _ := sec.Allow(ctx, "k", ratelimit.Limit{Count: 1, Period: time.Hour}); !r.Allowed {
		t.Fatal("the secondary counted it")
	}
}

// Ensure an unreachable Redis falls back to memory with no error.
func TestFallbackWhenDown(t *testing.T) {
	dead := redisrate.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), "x:")
	f := &ratelimit.Fallback{Primary: dead, Secondary: ratelimit.NewMemory(nil), Cooldown: time.Hour}
	if r, err := f.Allow(context.Background(), "k", ratelimit.Limit{Count: 1, Period: time.Hour}); err != nil || !r.Allowed {
		t.Fatalf("Allow = %+v, %v", r, err)
	}
}
