package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const shards = 64

// Memory keeps the counts in this process. Entries are dropped once they
// carry no information (a full bucket, failures past their ttl), checked
// as each shard is used, so memory follows the number of keys active in
// the last period rather than every key ever seen.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shards]memShard
}

type memShard struct {
	mu      sync.Mutex
	entries map[string]*memEntry
	ops     int
}

type memEntry struct {
	tat      int64 // GCRA, µs; 0 when unused
	failures int
	last     int64 // µs of the last failure
	expires  int64 // µs after which the entry is empty
}

// NewMemory returns an empty in-memory limiter. now may be nil (wall clock).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].entries = map[string]*memEntry{}
	}
	return m
}

func (m *Memory) shard(key string) *memShard {
	return &m.shards[maphash.String(m.seed, key)%shards]
}

// lock returns the key's shard locked, and the time; every 1024th use of a
// shard sweeps it.
func (m *Memory) lock(key string) (*memShard, int64) {
	sh := m.shard(key)
	now := m.now().UnixMicro()
	sh.mu.Lock()
	if sh.ops++; sh.ops%1024 == 0 {
		for k, e := range sh.entries {
			if e.expires <= now {
				delete(sh.entries, k)
			}
		}
	}
	return sh, now
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	if l.Off() {
		return Result{Allowed: true, Limit: l}, nil
	}
	sh, now := m.lock(key)
	defer sh.mu.Unlock()
	e := sh.entries[key]
	var tat int64
	if e != nil && e.expires > now {
		tat = e.tat
	}
	iv := l.Interval().Microseconds()
	ok, next, rem, retry, reset := gcra(now, tat, iv, int64(l.Count))
	if ok {
		if e == nil || e.expires <= now {
			e = &memEntry{}
			sh.entries[key] = e
		}
		e.tat = next
		e.expires = max(e.expires, next)
	}
	return Result{Allowed: ok, Limit: l, Remaining: rem, RetryAfter: time.Duration(retry) * time.Microsecond,
		ResetAfter: time.Duration(reset) * time.Microsecond}, nil
}

// Peek implements Limiter.
func (m *Memory) Peek(_ context.Context, key string, l Limit) (Result, error) {
	if l.Off() {
		return Result{Allowed: true, Limit: l}, nil
	}
	sh, now := m.lock(key)
	defer sh.mu.Unlock()
	var tat int64
	if e := sh.entries[key]; e != nil && e.expires > now {
		tat = e.tat
	}
	ok, _, rem, retry, _ := gcra(now, tat, l.Interval().Microseconds(), int64(l.Count))
	if ok {
		rem++ // gcra counts what is left after the request; a peek counts none
	}
	reset := max(tat-now, 0)
	return Result{Allowed: ok, Limit: l, Remaining: rem, RetryAfter: time.Duration(retry) * time.Microsecond,
		ResetAfter: time.Duration(reset) * time.Microsecond}, nil
}

// Fail implements Limiter.
func (m *Memory) Fail(_ context.Context, key string, ttl time.Duration) (int, error) {
	sh, now := m.lock(key)
	defer sh.mu.Unlock()
	e := sh.entries[key]
	if e == nil || e.expires <= now {
		e = &memEntry{}
		sh.entries[key] = e
	}
	e.failures++
	e.last = now
	e.expires = max(e.tat, now+ttl.Microseconds())
	return e.failures, nil
}

// Failures implements Limiter.
func (m *Memory) Failures(_ context.Context, key string) (int, time.Time, error) {
	sh, now := m.lock(key)
	defer sh.mu.Unlock()
	e := sh.entries[key]
	if e == nil || e.expires <= now || e.failures == 0 {
		return 0, time.Time{}, nil
	}
	return e.failures, time.UnixMicro(e.last), nil
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, key string) error {
	sh, _ := m.lock(key)
	delete(sh.entries, key)
	sh.mu.Unlock()
	return nil
}
