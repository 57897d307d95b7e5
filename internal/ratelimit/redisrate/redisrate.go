// Package redisrate is a ratelimit.Limiter on Redis, so that every
// instance of a deployment counts against the same buckets. It is the
// only package of the limiter that links the Redis client.
package redisrate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Limiter keeps the counts in Redis. Each operation is one script run
// atomically by Redis on its own clock (TIME), so instances with skewed
// clocks still agree.
type Limiter struct {
	client *redis.Client
	prefix string
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New uses client, prefixing every key with prefix (for example
// "latch:rl:"), so that several deployments or tests can share a server.
func New(client *redis.Client, prefix string) *Limiter {
	return &Limiter{client: client, prefix: prefix}
}

// Open connects to a redis:// or rediss:// URL with short timeouts (a
// limiter that waits seconds for Redis defeats its purpose). It does not
// check that the server answers: see Ping.
func Open(url, prefix string) (*Limiter, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, 500*time.Millisecond, 500*time.Millisecond
	return New(redis.NewClient(opt), prefix), nil
}

// Addr is the server's address, for logs.
func (r *Limiter) Addr() string { return r.client.Options().Addr }

// Close closes the connections.
func (r *Limiter) Close() error { return r.client.Close() }

// Ping checks that Redis answers.
func (r *Limiter) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// The GCRA of ratelimit's gcra(), in Lua; times in microseconds. ARGV[3]
// is 1 to count the request, 0 to peek.
var allowScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local stored = tonumber(redis.call('GET', KEYS[1]))
local tat = stored or now
if tat < now then tat = now end
local nxt = tat + interval
local allowat = nxt - burst * interval
if now < allowat then
  return {0, 0, allowat - now, tat - now}
end
if ARGV[3] == '0' then
  return {1, math.floor((now - allowat) / interval) + 1, 0, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
return {1, math.floor((now - allowat) / interval), 0, nxt - now}
`)

var failScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', string.format('%d', now))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n
`)

func (r *Limiter) gcra(ctx context.Context, key string, l ratelimit.Limit, count bool) (ratelimit.Result, error) {
	if l.Off() {
		return ratelimit.Result{Allowed: true, Limit: l}, nil
	}
	mode := 0
	if count {
		mode = 1
	}
	v, err := allowScript.Run(ctx, r.client, []string{r.prefix + "b:" + key}, l.Interval().Microseconds(), l.Count, mode).Int64Slice()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(v) != 4 {
		return ratelimit.Result{}, fmt.Errorf("ratelimit: redis: unexpected answer %v", v)
	}
	return ratelimit.Result{Allowed: v[0] == 1, Limit: l, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond,
		ResetAfter: time.Duration(v[3]) * time.Microsecond}, nil
}

// Allow implements ratelimit.Limiter.
func (r *Limiter) Allow(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return r.gcra(ctx, key, l, true)
}

// Peek implements ratelimit.Limiter.
func (r *Limiter) Peek(ctx context.Context, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	return r.gcra(ctx, key, l, false)
}

// Fail implements ratelimit.Limiter.
func (r *Limiter) Fail(ctx context.Context, key string, ttl time.Duration) (int, error) {
	n, err := failScript.Run(ctx, r.client, []string{r.prefix + "f:" + key}, ttl.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return n, nil
}

// Failures implements ratelimit.Limiter.
func (r *Limiter) Failures(ctx context.Context, key string) (int, time.Time, error) {
	v, err := r.client.HMGet(ctx, r.prefix+"f:"+key, "n", "last").Result()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	ns, _ := v[0].(string)
	ls, _ := v[1].(string)
	if ns == "" {
		return 0, time.Time{}, nil
	}
	n, err1 := strconv.Atoi(ns)
	last, err2 := strconv.ParseInt(ls, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis: malformed failure record %q", v)
	}
	return n, time.UnixMicro(last), nil
}

// Reset implements ratelimit.Limiter.
func (r *Limiter) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+"b:"+key, r.prefix+"f:"+key).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}
