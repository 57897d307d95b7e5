package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps the counts in Redis, so that every instance sees the same.
// Each operation is one script run atomically by Redis on its own clock
// (TIME), so instances with skewed clocks still agree.
type Redis struct {
	client *redis.Client
	prefix string
}

// NewRedis uses client, prefixing every key with prefix (for example
// "latch:rl:"), so that several deployments or tests can share a server.
func NewRedis(client *redis.Client, prefix string) *Redis {
	return &Redis{client: client, prefix: prefix}
}

// OpenRedis connects to a redis:// or rediss:// URL and checks that the
// server answers.
func OpenRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 2*time.Second, time.Second, time.Second
	c := redis.NewClient(opt)
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("redis at %s does not answer: %w", opt.Addr, err)
	}
	return NewRedis(c, prefix), nil
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// Ping checks that Redis answers.
func (r *Redis) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// The GCRA of gcra(), in Lua; times in microseconds.
var allowScript = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval
local allowat = nxt - burst * interval
if now < allowat then
  return {0, 0, allowat - now, tat - now}
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

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	if l.Off() {
		return Result{Allowed: true, Limit: l}, nil
	}
	v, err := allowScript.Run(ctx, r.client, []string{r.prefix + "b:" + key}, l.interval().Microseconds(), l.Count).Int64Slice()
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(v) != 4 {
		return Result{}, fmt.Errorf("ratelimit: redis: unexpected answer %v", v)
	}
	return Result{Allowed: v[0] == 1, Limit: l, Remaining: int(v[1]), RetryAfter: time.Duration(v[2]) * time.Microsecond,
		ResetAfter: time.Duration(v[3]) * time.Microsecond}, nil
}

// Fail implements Limiter.
func (r *Redis) Fail(ctx context.Context, key string, ttl time.Duration) (int, error) {
	n, err := failScript.Run(ctx, r.client, []string{r.prefix + "f:" + key}, ttl.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	return n, nil
}

// Failures implements Limiter.
func (r *Redis) Failures(ctx context.Context, key string) (int, time.Time, error) {
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

// Reset implements Limiter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.prefix+"b:"+key, r.prefix+"f:"+key).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}
