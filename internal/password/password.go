package password

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// MaxBytes is the longest password accepted, in bytes after NFC
// normalisation. Longer ones are refused rather than silently truncated.
const MaxBytes = 256

// ErrTooLong is returned for passwords over MaxBytes.
var ErrTooLong = errors.New("password: longer than 256 bytes")

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the OWASP minimum for argon2id: 19 MiB, 2 passes, 1 lane.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p is usable. The deployment's own parameters
// obey the caps that stored hashes do, or its hashes could not be
// verified.
func (p Params) Validate() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)):
		return fmt.Errorf("argon2 memory must be at least 8 KiB per thread, got %d", p.Memory)
	case p.Memory > MaxArgon2Memory:
		return fmt.Errorf("argon2 memory above %d KiB (256 MiB) is not supported, got %d", MaxArgon2Memory, p.Memory)
	case p.Time < 1 || p.Time > MaxArgon2Time:
		return fmt.Errorf("argon2 time must be 1 to %d, got %d", MaxArgon2Time, p.Time)
	case p.Threads < 1 || p.Threads > MaxArgon2Threads:
		return fmt.Errorf("argon2 threads must be 1 to %d, got %d", MaxArgon2Threads, p.Threads)
	case p.SaltLen < 8 || p.KeyLen < 16:
		return errors.New("argon2 salt must be at least 8 bytes and key at least 16")
	}
	return nil
}

// Hasher hashes with fixed parameters and verifies any supported hash on
// a bounded pool of workers. It is safe for concurrent use.
type Hasher struct {
	params Params
	pool   *pool
	dummy  *argon2Hash
	// ObserveWait, when set, is told how long each computation waited for
	// a worker (metrics). Set it before first use.
	ObserveWait func(time.Duration)
}

// New returns a Hasher for p. It computes one hash up front, the dummy that
// VerifyDummy checks, so that a login for an unknown user costs the same as
// one with a wrong password.
func New(p Params) (*Hasher, error) { return NewPool(p, Pool{}) }

// NewPool is New with an explicitly sized worker pool.
func NewPool(p Params, pool Pool) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	h := &Hasher{params: p, pool: newPool(pool)}
	pw := make([]byte, 24)
	rand.Read(pw)
	d, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw))
	if err != nil {
		return nil, err
	}
	if h.dummy, err = parseArgon2(d); err != nil {
		return nil, err
	}
	return h, nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	waited, err := h.pool.acquire(ctx)
	if err == nil && h.ObserveWait != nil {
		h.ObserveWait(waited)
	}
	return err
}

// Waiting is how many callers are queued for a worker now.
func (h *Hasher) Waiting() int { return int(h.pool.waiting.Load()) }

// Workers is the pool's size.
func (h *Hasher) Workers() int { return cap(h.pool.slots) }

// Enter admits a password login at the server's edge, before its body is
// read, or refuses it (false) when the logins already admitted would fill
// the queue: those still reading their tenant and user count as queued,
// so that a flood cannot get past the edge in numbers the queue will
// refuse later, after they waited for the database. Each true is
// followed by one Leave, once the login's handler has returned. It costs
// two atomic operations.
func (h *Hasher) Enter() bool { return h.pool.enter() }

// Leave ends what Enter admitted.
func (h *Hasher) Leave() { h.pool.leave() }

// Refused counts the logins Enter has turned away since the Hasher was
// made: it moves while the server sheds load.
func (h *Hasher) Refused() int64 { return h.pool.refused.Load() }

// Params returns the parameters new hashes use.
func (h *Hasher) Params() Params { return h.params }

// Normalize returns the NFC form of pw, or ErrTooLong.
func Normalize(pw string) (string, error) {
	n := norm.NFC.String(pw)
	if len(n) > MaxBytes {
		return "", ErrTooLong
	}
	return n, nil
}

// Hash returns the argon2id PHC string of pw. It waits for a worker at
// most as long as the pool allows and ctx lives: its errors are
// ErrTooLong, ErrOverloaded and ctx's error (wrapped).
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	n, err := Normalize(pw)
	if err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	start := time.Now()
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(n), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.pool.release(time.Since(start))
	return encodeArgon2(h.params, salt, key), nil
}

// Verify reports whether pw matches encoded, and whether encoded should be
// replaced by a fresh Hash(pw) because it uses another algorithm or other
// parameters.
//
// A malformed hash, or one over a cost cap, is an error (ErrMalformedHash,
// ErrCostTooHigh) and never a match; it is not computed, but the dummy is,
// so that its answer takes the time of any other. Under load the error is
// ErrOverloaded; when ctx ends while waiting for a worker, ctx's error
// (wrapped), and no computation starts.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (ok, rehash bool, err error) {
	n, err := Normalize(pw)
	if err != nil {
		return false, false, err
	}
	d, perr := parse(encoded)
	if perr != nil {
		d = h.dummy
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	start := time.Now()
	ok = d.verify([]byte(n))
	if perr == nil && !d.current(h.params) && time.Since(start) < time.Duration(h.pool.cost.Load()) {
		// An imported hash far cheaper than argon2id ({SSHA}, PBKDF2 at a
		// few thousand iterations, bcrypt at cost 4) must not answer
		// sooner than an unknown user, or timing would tell which emails
		// have an account: spend the dummy's time too.
		h.dummy.verify([]byte(n))
	}
	h.pool.release(time.Since(start))
	if perr != nil {
		return false, false, perr
	}
	return ok, ok && !d.current(h.params), nil
}

// VerifyDummy spends the time of one Verify against a hash no password
// matches. Call it when there is no user, so that the answer's timing does
// not reveal whether the user exists. Its errors are those of Verify but
// the hash's: an unknown user is shed under load exactly like a known one.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	_, _, err := h.Verify(ctx, pw, "")
	if errors.Is(err, ErrMalformedHash) {
		return nil
	}
	return err
}

// Check reports whether encoded is a hash Verify can use: a supported
// format within the cost caps. Its error (a *HashError) says what is
// wrong in words fit for an API answer.
func Check(encoded string) error {
	_, err := parse(encoded)
	return err
}

// Check is the package's Check, for callers that hold a Hasher.
func (h *Hasher) Check(encoded string) error { return Check(encoded) }

// decoded is a parsed stored hash, within the cost caps.
type decoded interface {
	// verify recomputes the hash of pw and compares in constant time.
	verify(pw []byte) bool
	// current reports whether the hash is argon2id at exactly p.
	current(p Params) bool
}

// parse recognises a stored hash by its prefix and parses it, applying
// the cost caps.
func parse(s string) (decoded, error) {
	if len(s) > maxEncodedLen {
		return nil, malformed("hash is longer than %d bytes", maxEncodedLen)
	}
	prefix, _, _ := strings.Cut(strings.TrimPrefix(s, "$"), "$")
	switch {
	case s == "":
		return nil, malformed("hash is empty")
	case strings.HasPrefix(s, "$argon2id$"), strings.HasPrefix(s, "$argon2i$"):
		return parseArgon2(s)
	case strings.HasPrefix(s, "$2a$"), strings.HasPrefix(s, "$2b$"), strings.HasPrefix(s, "$2y$"):
		return parseBcrypt(s)
	case strings.HasPrefix(s, "$scrypt$"):
		return parseScrypt(s)
	case strings.HasPrefix(s, "$firescrypt$"):
		return parseFirebase(s)
	case s[0] == '$' && (prefix == "pbkdf2" || strings.HasPrefix(prefix, "pbkdf2-")):
		return parsePHCPBKDF2(s)
	case strings.HasPrefix(s, "pbkdf2_"):
		return parseDjangoPBKDF2(s)
	case isSSHA(s):
		return parseSSHA(s)
	}
	return nil, malformed("unsupported hash format (supported: argon2id, argon2i, bcrypt $2a$/$2b$/$2y$, scrypt, firescrypt, " +
		"pbkdf2 in Django, passlib and Kratos forms, {SSHA}, {SSHA256}, {SSHA512})")
}

// decodeB64 accepts standard base64 with or without padding, as PHC
// strings from different tools use either.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
