// Package passwordtest wraps a real password hasher for tests that check
// how much hashing work a request does: the work that dominates a login's
// time, counted rather than timed so that the tests do not depend on the
// machine's speed.
package passwordtest

import (
	"context"
	"sync/atomic"

	"github.com/latchauth/latch/internal/identity"
)

// Counting counts the calls to the hasher it wraps; each is one password
// hash computed.
type Counting struct {
	identity.PasswordHasher
	Hashes, Verifies, Dummies atomic.Int64
}

// Total is every hash computed so far.
func (c *Counting) Total() int64 { return c.Hashes.Load() + c.Verifies.Load() + c.Dummies.Load() }

// Hash counts and hashes.
func (c *Counting) Hash(ctx context.Context, pw string) (string, error) {
	c.Hashes.Add(1)
	return c.PasswordHasher.Hash(ctx, pw)
}

// Verify counts and verifies.
func (c *Counting) Verify(ctx context.Context, pw, encoded string) (bool, bool, error) {
	c.Verifies.Add(1)
	return c.PasswordHasher.Verify(ctx, pw, encoded)
}

// VerifyDummy counts and verifies against the dummy hash.
func (c *Counting) VerifyDummy(ctx context.Context, pw string) error {
	c.Dummies.Add(1)
	return c.PasswordHasher.VerifyDummy(ctx, pw)
}
