package ratelimit

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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
