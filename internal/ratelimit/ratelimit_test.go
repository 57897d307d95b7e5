package ratelimit

import (
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clock is a settable time for the memory limiter.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

// redisLimiter connects to LATCH_TEST_REDIS_URL with a key prefix of its
// own, or skips.
func redisLimiter(tb testing.TB) *Redis {
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
	return NewRedis(c, "latch-test:"+rand.Text()[:12]+":")
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Limit{
		"300/m": {300, time.Minute}, "10/m": {10, time.Minute}, "5/s": {5, time.Second}, "1000/h": {1000, time.Hour},
		"2/d": {2, 24 * time.Hour}, "5/30s": {5, 30 * time.Second}, " 7/5m ": {7, 5 * time.Minute}, "off": {}, "0": {},
	} {
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10", "m/10", "-1/m", "10/x", "10/-5s", "1000000000/s", "1.5/m"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	if s := (Limit{300, time.Minute}).String(); s != "300/m" {
		t.Errorf("String = %q", s)
	}
	for l, want := range map[Limit]string{{1, time.Minute}: "1m", {1, 12 * time.Hour}: "12h", {1, 48 * time.Hour}: "2d", {1, 30 * time.Second}: "30s"} {
		if got := l.PeriodString(); got != want {
			t.Errorf("PeriodString(%v) = %q, want %q", l, got, want)
		}
	}
}

// Ensure a burst of Count is allowed, then one request per interval, and
// that Remaining, RetryAfter and ResetAfter describe the bucket.
func TestMemoryGCRA(t *testing.T) {
	c := newClock()
	m := NewMemory(c.now)
	ctx := context.Background()
	l := Limit{5, time.Minute}
	for i := range 5 {
		r, _ := m.Allow(ctx, "k", l)
		if !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("request %d: %+v", i, r)
		}
	}
	r, _ := m.Allow(ctx, "k", l)
	if r.Allowed || r.RetryAfter != 12*time.Second || r.ResetAfter != time.Minute {
		t.Fatalf("sixth: %+v", r)
	}
	if r, _ := m.Allow(ctx, "other", l); !r.Allowed {
		t.Fatal("keys share a bucket")
	}
	c.advance(12 * time.Second)
	if r, _ := m.Allow(ctx, "k", l); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after one interval: %+v", r)
	}
	if r, _ := m.Allow(ctx, "k", l); r.Allowed {
		t.Fatal("two allowed after one interval")
	}
	c.advance(time.Minute)
	if r, _ := m.Allow(ctx, "k", l); !r.Allowed || r.Remaining != 4 {
		t.Fatalf("after a full period: %+v", r)
	}
	m.Reset(ctx, "k")
	if r, _ := m.Allow(ctx, "k", l); r.Remaining != 4 {
		t.Fatalf("after reset: %+v", r)
	}
	if r, _ := m.Allow(ctx, "k", Limit{}); !r.Allowed {
		t.Fatal("the zero limit refused")
	}
}

// Ensure entries that carry no information are swept, so that memory does
// not grow with every key ever seen.
func TestMemorySweeps(t *testing.T) {
	c := newClock()
	m := NewMemory(c.now)
	ctx := context.Background()
	for i := range 100_000 {
		m.Allow(ctx, "ip:"+strconv.Itoa(i), Limit{10, time.Minute})
	}
	c.advance(2 * time.Minute)
	for i := range shards * 2048 {
		m.Failures(ctx, "probe:"+strconv.Itoa(i)) // reads only; each shard gets about 2048 uses
	}
	n := 0
	for i := range m.shards {
		for k := range m.shards[i].entries {
			if strings.HasPrefix(k, "ip:") {
				n++
			}
		}
	}
	if n > 0 {
		t.Fatalf("%d entries left after every bucket refilled", n)
	}
}

// conformance runs the promises both stores make.
func conformance(t *testing.T, lim Limiter) {
	ctx := context.Background()
	t.Run("Burst", func(t *testing.T) {
		l := Limit{10, time.Hour}
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
	t.Run("Concurrent", func(t *testing.T) {
		var allowed atomic.Int32
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				r, err := lim.Allow(ctx, "conc", Limit{10, time.Hour})
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

func TestMemoryConformance(t *testing.T) { conformance(t, NewMemory(nil)) }

func TestRedisConformance(t *testing.T) { conformance(t, redisLimiter(t)) }

// Ensure Redis buckets refill on Redis's clock and failures expire.
func TestRedisRefillAndExpiry(t *testing.T) {
	r := redisLimiter(t)
	ctx := context.Background()
	l := Limit{2, 400 * time.Millisecond}
	r.Allow(ctx, "k", l)
	r.Allow(ctx, "k", l)
	if res, _ := r.Allow(ctx, "k", l); res.Allowed {
		t.Fatal("third allowed")
	}
	time.Sleep(250 * time.Millisecond)
	if res, _ := r.Allow(ctx, "k", l); !res.Allowed {
		t.Fatal("not refilled after one interval")
	}
	r.Fail(ctx, "f", 150*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	if n, _, _ := r.Failures(ctx, "f"); n != 0 {
		t.Fatalf("failures did not expire: %d", n)
	}
}

// Ensure two limiters on one Redis share a bucket (two instances).
func TestRedisShared(t *testing.T) {
	a := redisLimiter(t)
	b := NewRedis(a.client, a.prefix)
	ctx := context.Background()
	l := Limit{4, time.Hour}
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

// Ensure an unreachable Redis falls back to memory without an error, is
// counted, and is skipped during the cooldown.
func TestFallback(t *testing.T) {
	dead := NewRedis(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), "x:")
	var fallbacks atomic.Int32
	f := &Fallback{Primary: dead, Secondary: NewMemory(nil), Cooldown: time.Hour, OnFallback: func() { fallbacks.Add(1) }}
	ctx := context.Background()
	l := Limit{3, time.Hour}
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
	if f.downUntil.Load() == 0 {
		t.Fatal("no cooldown recorded")
	}
}

// Ensure a healthy primary is used and the secondary stays empty.
func TestFallbackUsesPrimary(t *testing.T) {
	prim := redisLimiter(t)
	sec := NewMemory(nil)
	f := &Fallback{Primary: prim, Secondary: sec}
	ctx := context.Background()
	f.Allow(ctx, "k", Limit{1, time.Hour})
	if r, _ := prim.Allow(ctx, "k", Limit{1, time.Hour}); r.Allowed {
		t.Fatal("the primary did not count the request")
	}
	if r, _ := sec.Allow(ctx, "k", Limit{1, time.Hour}); !r.Allowed {
		t.Fatal("the secondary counted it")
	}
}
