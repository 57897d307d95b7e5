package ratelimit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Fallback asks Primary (redisrate) and, when it fails or does not answer
// within Timeout, Secondary (memory). After a failure Primary is left alone
// for Cooldown, so that a Redis outage costs each login nothing rather than
// a timeout. Limits then hold per instance instead of across instances:
// weaker, but logins keep working, which is the point of an auth server.
type Fallback struct {
	Primary, Secondary Limiter
	Timeout            time.Duration // default 100 ms
	Cooldown           time.Duration // default 5 s
	Logger             *slog.Logger
	OnFallback         func() // counts each answer the secondary gave because of a failure (metrics)

	downUntil atomic.Int64 // unix nanoseconds
	loggedAt  atomic.Int64
}

func (f *Fallback) primary(ctx context.Context, op func(context.Context, Limiter) error) {
	now := time.Now()
	if now.UnixNano() >= f.downUntil.Load() {
		timeout := f.Timeout
		if timeout <= 0 {
			timeout = 100 * time.Millisecond
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := op(pctx, f.Primary)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil { // the caller went away; not Redis's fault
			op(ctx, f.Secondary)
			return
		}
		cool := f.Cooldown
		if cool <= 0 {
			cool = 5 * time.Second
		}
		f.downUntil.Store(now.Add(cool).UnixNano())
		if last := f.loggedAt.Load(); now.UnixNano()-last > int64(time.Minute) && f.loggedAt.CompareAndSwap(last, now.UnixNano()) && f.Logger != nil {
			f.Logger.Error("rate limiter: Redis unavailable; limits are per instance until it answers again", "err", err, "retry_in", cool)
		}
	}
	if f.OnFallback != nil {
		f.OnFallback()
	}
	op(ctx, f.Secondary)
}

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, key string, l Limit) (res Result, err error) {
	f.primary(ctx, func(ctx context.Context, lim Limiter) error {
		res, err = lim.Allow(ctx, key, l)
		return err
	})
	return res, err
}

// Peek implements Limiter.
func (f *Fallback) Peek(ctx context.Context, key string, l Limit) (res Result, err error) {
	f.primary(ctx, func(ctx context.Context, lim Limiter) error {
		res, err = lim.Peek(ctx, key, l)
		return err
	})
	return res, err
}

// Fail implements Limiter.
func (f *Fallback) Fail(ctx context.Context, key string, ttl time.Duration) (n int, err error) {
	f.primary(ctx, func(ctx context.Context, lim Limiter) error {
		n, err = lim.Fail(ctx, key, ttl)
		return err
	})
	return n, err
}

// Failures implements Limiter.
func (f *Fallback) Failures(ctx context.Context, key string) (n int, last time.Time, err error) {
	f.primary(ctx, func(ctx context.Context, lim Limiter) error {
		n, last, err = lim.Failures(ctx, key)
		return err
	})
	return n, last, err
}

// Reset implements Limiter. Both stores forget the key, so that counts
// the secondary kept during an outage do not outlive an unlock.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	f.Secondary.Reset(ctx, key)
	var err error
	f.primary(ctx, func(ctx context.Context, lim Limiter) error {
		err = lim.Reset(ctx, key)
		return err
	})
	return err
}
