package password

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// Pool sizes the hashing worker pool. Zero fields take the defaults.
type Pool struct {
	Workers  int           // concurrent computations; default GOMAXPROCS
	MaxQueue int           // callers waiting for a worker; default 32 per worker
	MaxWait  time.Duration // longest wait for a worker; default 1 s
}

// OverloadError is returned instead of hashing when the pool's queue is
// full or the wait too long. Callers should answer 503 with Retry-After.
type OverloadError struct{ wait time.Duration }

func (e *OverloadError) Error() string { return "password: hashing queue is full; retry shortly" }

// RetryAfter is how long the caller should wait before retrying.
func (e *OverloadError) RetryAfter() time.Duration { return e.wait }

// ErrOverloaded is the OverloadError the Hasher returns.
var ErrOverloaded error = &OverloadError{wait: time.Second}

// pool bounds how many argon2/scrypt/bcrypt computations run at once to
// the number of CPUs. More would not finish sooner: they would share the
// cores, multiply the memory in use (m KiB each) and evict each other's
// blocks from the CPU caches.
//
// Callers beyond the workers queue, but only while the queue holds fewer
// than maxQueue and is expected to reach them within maxWait (from the
// measured wall time of one computation); anyone else is refused at once.
// So under overload a refusal is immediate and a queued caller is served,
// however long the overload lasts. A queued caller leaves when its ctx
// ends; as a safety net (computations suddenly much slower than measured)
// one that has waited ten times maxWait is refused then. A waiting caller
// holds no hash memory, so peak memory is workers × m plus the queue's
// requests.
type pool struct {
	slots    chan struct{}
	maxQueue int64
	maxWait  time.Duration
	waiting  atomic.Int64
	// entered counts callers let in by Enter and not yet out (Leave):
	// those hashing, queued, or on their way to the queue (a login reads
	// its tenant and user first).
	entered atomic.Int64
	// cost is a moving average of one computation's wall time in ns, as
	// the workers see it (slower when the CPUs are shared with other work).
	cost atomic.Int64
	// computed counts finished computations.
	computed atomic.Int64
	// refused counts the callers enter turned away.
	refused atomic.Int64
}

func newPool(p Pool) *pool {
	if p.Workers <= 0 {
		p.Workers = runtime.GOMAXPROCS(0)
	}
	if p.MaxQueue <= 0 {
		p.MaxQueue = 32 * p.Workers
	}
	if p.MaxWait <= 0 {
		p.MaxWait = time.Second
	}
	return &pool{slots: make(chan struct{}, p.Workers), maxQueue: int64(p.MaxQueue), maxWait: p.MaxWait}
}

// admits reports whether a caller that would be the n-th in the queue
// may wait: the queue has room and is expected to reach it within
// maxWait.
func (p *pool) admits(n int64) bool {
	if n > p.maxQueue {
		return false
	}
	c := p.cost.Load()
	if c == 0 {
		return true
	}
	workers := int64(cap(p.slots))
	rounds := (n + workers - 1) / workers
	return time.Duration(rounds*c) <= p.maxWait
}

// enter lets a caller in when, counting every caller already in as
// queued behind the workers, it would still be admitted to the queue; a
// caller let in leaves with leave.
func (p *pool) enter() bool {
	n := p.entered.Add(1)
	if workers := int64(cap(p.slots)); n <= workers || p.admits(n-workers) {
		return true
	}
	p.entered.Add(-1)
	p.refused.Add(1)
	return false
}

func (p *pool) leave() { p.entered.Add(-1) }

// acquire takes a worker slot, waiting in the bounded queue if admitted.
// A caller whose ctx ends while it waits leaves the queue at once, and one
// whose ctx has ended by the time it gets a slot gives the slot back: no
// computation starts for a client that has gone.
func (p *pool) acquire(ctx context.Context) (waited time.Duration, err error) {
	if err := ctx.Err(); err != nil {
		return 0, canceled(err)
	}
	select {
	case p.slots <- struct{}{}:
		return 0, nil
	default:
	}
	if n := p.waiting.Add(1); !p.admits(n) {
		p.waiting.Add(-1)
		return 0, ErrOverloaded
	}
	defer p.waiting.Add(-1)
	start := time.Now()
	t := time.NewTimer(10 * p.maxWait)
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, canceled(ctx.Err())
	case <-t.C:
		return 0, ErrOverloaded
	}
	if err := ctx.Err(); err != nil {
		<-p.slots
		return 0, canceled(err)
	}
	return time.Since(start), nil
}

// release gives the slot back and folds took, the computation's wall
// time, into the cost estimate (weight 1/8).
func (p *pool) release(took time.Duration) {
	<-p.slots
	p.computed.Add(1)
	for {
		old := p.cost.Load()
		next := int64(took)
		if old != 0 {
			next = old + (int64(took)-old)/8
		}
		if p.cost.CompareAndSwap(old, next) {
			return
		}
	}
}

func canceled(err error) error {
	return fmt.Errorf("password: client gone while waiting for a hashing worker: %w", err)
}
