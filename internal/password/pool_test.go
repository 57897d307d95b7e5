package password

import (
	"context"
	"errors"
	"testing"
	"time"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// hold takes every worker slot, as long computations would, and returns
// the function that gives them back.
func hold(h *Hasher) func() {
	for range cap(h.pool.slots) {
		h.pool.slots <- struct{}{}
	}
	return func() {
		for range cap(h.pool.slots) {
			<-h.pool.slots
		}
	}
}

// Ensure a caller whose client goes away while queued leaves the queue at
// once and never reaches a worker, and that one whose context has already
// ended does not queue at all.
func TestQueuedCallerLeavesWithItsContext(t *testing.T) {
	h, err := NewPool(cheap, Pool{Workers: 1, MaxQueue: 4, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	computed := h.pool.computed.Load()
	release := hold(h)
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := h.Verify(c, "password", h.dummyEncoded())
		done <- err
	}()
	waitFor(t, "the caller to queue", func() bool { return h.Waiting() == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a cancelled caller is still waiting for a worker")
	}
	if h.Waiting() != 0 {
		t.Fatalf("Waiting = %d after the caller left", h.Waiting())
	}
	release()
	if _, err := h.Hash(c, "password"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with an ended context: %v", err)
	}
	if got := h.pool.computed.Load(); got != computed {
		t.Fatalf("%d computations ran for callers that had gone", got-computed)
	}
}

// Ensure a caller is queued only while the queue is expected to reach it
// within MaxWait: beyond that it is refused at once (a fast 503),
// the queue's rule says so beforehand, and the queued caller is served.
func TestQueueAdmitsByExpectedWait(t *testing.T) {
	h, err := NewPool(cheap, Pool{Workers: 1, MaxQueue: 100, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.pool.cost.Store(int64(600 * time.Millisecond)) // one queued caller: 0.6 s ≤ 1 s; two: 1.2 s
	release := hold(h)
	// refused is whether a caller arriving now would be turned away.
	refused := func() bool { return len(h.pool.slots) == cap(h.pool.slots) && !h.pool.admits(h.pool.waiting.Load()+1) }
	if refused() {
		t.Fatal("saturated with an empty queue")
	}
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "password"); done <- err }()
	waitFor(t, "the first caller to queue", func() bool { return h.Waiting() == 1 })
	if !refused() {
		t.Fatal("not saturated although a second caller would wait 1.2 s")
	}
	if _, err := h.Hash(context.Background(), "password"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("second caller: %v, want ErrOverloaded", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("queued caller: %v", err)
	}
}

// Ensure MaxQueue bounds the queue whatever the expected wait.
func TestQueueBound(t *testing.T) {
	h, err := NewPool(cheap, Pool{Workers: 1, MaxQueue: 1, MaxWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	release := hold(h)
	done := make(chan error, 1)
	go func() { _, err := h.Hash(context.Background(), "password"); done <- err }()
	waitFor(t, "the first caller to queue", func() bool { return h.Waiting() == 1 })
	if err := h.VerifyDummy(context.Background(), "password"); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("VerifyDummy over the queue bound: %v", err)
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// dummyEncoded is the dummy hash's stored form.
func (h *Hasher) dummyEncoded() string {
	return encodeArgon2(h.dummy.params, h.dummy.salt, h.dummy.key)
}

// Ensure the edge admits logins by the same rule as the queue, counting
// every login already let in as queued behind the workers, so that a
// flood is refused before its logins wait for the database.
func TestEnterCountsLoginsLetIn(t *testing.T) {
	h, err := NewPool(cheap, Pool{Workers: 1, MaxQueue: 100, MaxWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.pool.cost.Store(int64(600 * time.Millisecond)) // the worker and one queued caller fit in 1 s; a second queued does not
	if first, second := h.Enter(), h.Enter(); !first || !second {
		t.Fatalf("the first two logins: let in %v, %v", first, second)
	}
	if h.Enter() {
		t.Fatal("a third login was let in although it would wait 1.2 s")
	}
	h.Leave()
	if !h.Enter() {
		t.Fatal("a login was refused after one left")
	}
}
