package password

import (
	"errors"
	"fmt"
)

// Cost caps for stored hashes, enforced when a hash is imported (Check)
// and again before one is verified: a hash over a cap is refused without
// computing it, so that one imported user cannot hold a hashing worker
// for minutes. Each cap is about the cost of bcrypt at 14 (~1 s on one
// core) or argon2 at its cap (~2.5 s), and well above what the systems
// hashes come from use by default.
const (
	MaxBcryptCost = 14

	MaxArgon2Memory  = 256 << 10 // KiB (256 MiB)
	MaxArgon2Time    = 10
	MaxArgon2Threads = 16

	// MaxScryptMemory bounds scrypt's N·r·128 bytes; MaxScryptWork bounds
	// N·r·p·128, because p repeats the whole computation.
	MaxScryptMemory = 128 << 20
	MaxScryptWork   = 512 << 20
	MaxScryptP      = 16

	// MaxPBKDF2Iterations is 4× Django's default of 2026 (1,200,000):
	// ~0.8 s for SHA-256 and ~2.5 s for SHA-512 on one core.
	MaxPBKDF2Iterations = 5_000_000

	// maxEncodedLen bounds a stored hash; the longest supported form
	// (Firebase scrypt with its 64-byte signer key) needs about 250 bytes.
	maxEncodedLen = 1024
)

// ErrMalformedHash is returned for a stored hash that cannot be parsed or
// names an unsupported scheme.
var ErrMalformedHash = errors.New("password: malformed hash")

// ErrCostTooHigh is returned for a stored hash whose parameters exceed a
// cost cap; the error's message names the parameter and the cap.
var ErrCostTooHigh = errors.New("password: hash cost above the limit")

// HashError says why a stored hash is unusable, in words fit for an
// admin API's 400 ("bcrypt cost 31 is above the limit of 14"). It
// matches ErrMalformedHash or ErrCostTooHigh with errors.Is.
type HashError struct {
	kind error
	msg  string
}

func (e *HashError) Error() string { return e.msg }

// Unwrap returns ErrMalformedHash or ErrCostTooHigh.
func (e *HashError) Unwrap() error { return e.kind }

func malformed(format string, args ...any) error {
	return &HashError{kind: ErrMalformedHash, msg: fmt.Sprintf(format, args...)}
}

func overCap(what string, got, limit uint64) error {
	return &HashError{kind: ErrCostTooHigh, msg: fmt.Sprintf("%s %d is above the limit of %d", what, got, limit)}
}
