// Package ratelimit counts requests against limits: a GCRA (generic cell
// rate algorithm) bucket per key, and failure counts for progressive
// throttling. Memory serves one instance; package redisrate shares the
// counts between instances through Redis; Fallback asks one limiter and
// falls back to another when it does not answer, so that an outage of
// Redis never fails logins wholesale. This package holds no driver, so
// that the identity core can name its types without linking one.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Limit allows Count requests per Period, all of them at once if they come
// in a burst, then one every Period/Count. The zero Limit is "no limit".
type Limit struct {
	Count  int
	Period time.Duration
}

// Off reports whether l limits nothing.
func (l Limit) Off() bool { return l.Count <= 0 || l.Period <= 0 }

// Interval is the time one request's allowance takes to come back.
func (l Limit) Interval() time.Duration { return l.Period / time.Duration(l.Count) }

var units = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}

// Parse reads "N/unit" where unit is s, m, h or d (or a Go duration such as
// 30s or 5m), or "off". Examples: "300/m", "10/m", "5/30s".
func Parse(s string) (Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count <= 0 {
		return Limit{}, fmt.Errorf("%q is not a rate: write a positive count, a slash and a period, like 300/m or 10/5m (or off)", s)
	}
	d, ok := units[per]
	if !ok {
		if d, err = time.ParseDuration(per); err != nil || d <= 0 {
			return Limit{}, fmt.Errorf("%q: period %q is not s, m, h, d or a duration such as 30s", s, per)
		}
	}
	if d/time.Duration(count) < time.Microsecond {
		return Limit{}, fmt.Errorf("%q allows more than one request per microsecond", s)
	}
	return Limit{Count: count, Period: d}, nil
}

// String is the form Parse reads.
func (l Limit) String() string {
	if l.Off() {
		return "off"
	}
	for u, d := range units {
		if l.Period == d {
			return strconv.Itoa(l.Count) + "/" + u
		}
	}
	return strconv.Itoa(l.Count) + "/" + l.Period.String()
}

// PeriodString is the period in the form rate-limit headers use: 1m, 12h, 1d.
func (l Limit) PeriodString() string {
	switch {
	case l.Period%(24*time.Hour) == 0:
		return strconv.Itoa(int(l.Period/(24*time.Hour))) + "d"
	case l.Period%time.Hour == 0:
		return strconv.Itoa(int(l.Period/time.Hour)) + "h"
	case l.Period%time.Minute == 0:
		return strconv.Itoa(int(l.Period/time.Minute)) + "m"
	}
	return strconv.Itoa(int(l.Period.Seconds())) + "s"
}

// Result is the state of one key after a request was counted (or refused).
type Result struct {
	Allowed    bool
	Limit      Limit
	Remaining  int           // requests that would be allowed right now after this one
	RetryAfter time.Duration // when refused: how long until one request is allowed
	ResetAfter time.Duration // how long until the full burst is available again
}

// Limiter counts requests and failures under keys. Implementations are
// safe for concurrent use.
type Limiter interface {
	// Allow counts one request under key against l and says whether it
	// may proceed. A refused request is not counted.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
	// Peek answers what Allow would answer now, without counting.
	Peek(ctx context.Context, key string, l Limit) (Result, error)
	// Fail counts a failure under key and returns the count so far;
	// failures are forgotten once none has been added for ttl.
	Fail(ctx context.Context, key string, ttl time.Duration) (int, error)
	// Failures returns the failure count under key and when the last was added.
	Failures(ctx context.Context, key string) (count int, last time.Time, err error)
	// Reset forgets key: its bucket and its failures.
	Reset(ctx context.Context, key string) error
}

// gcra is the algorithm every limiter runs (redisrate in Lua), on
// microseconds: tat is the theoretical arrival time stored for the key (0
// when none).
func gcra(now, tat, interval, burst int64) (allowed bool, newTAT int64, remaining int, retryAfter, resetAfter int64) {
	if tat < now {
		tat = now
	}
	next := tat + interval
	allowAt := next - burst*interval
	if now < allowAt {
		return false, tat, 0, allowAt - now, tat - now
	}
	return true, next, int((now - allowAt) / interval), 0, next - now
}
