package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// MaxBytes is the longest password accepted, in bytes after NFC
// normalisation. Longer ones are refused rather than silently truncated.
const MaxBytes = 256

// ErrTooLong is returned for passwords over MaxBytes.
var ErrTooLong = errors.New("password: longer than 256 bytes")

// ErrMalformedHash is returned for a stored hash that cannot be parsed.
var ErrMalformedHash = errors.New("password: malformed hash")

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

// Validate reports whether p is usable.
func (p Params) Validate() error {
	switch {
	case p.Memory < 8*uint32(max(p.Threads, 1)):
		return fmt.Errorf("argon2 memory must be at least 8 KiB per thread, got %d", p.Memory)
	case p.Memory > 4<<20:
		return fmt.Errorf("argon2 memory above 4 GiB (%d KiB) is not supported", p.Memory)
	case p.Time < 1:
		return errors.New("argon2 time must be at least 1")
	case p.Threads < 1:
		return errors.New("argon2 threads must be at least 1")
	case p.SaltLen < 8 || p.KeyLen < 16:
		return errors.New("argon2 salt must be at least 8 bytes and key at least 16")
	}
	return nil
}

// Hasher hashes with fixed parameters and verifies any supported hash.
// It is safe for concurrent use.
type Hasher struct {
	params Params
	dummy  string
	// slots bounds how many argon2/scrypt/bcrypt computations run at once
	// to the number of CPUs. More would not finish sooner: they would share
	// the cores, multiply the memory in use (m KiB each) and evict each
	// other's blocks from the CPU caches.
	slots chan struct{}
	// At most maxQueue callers wait for a slot, each at most maxWait;
	// beyond either, ErrOverloaded at once. A waiting caller holds no hash
	// memory, so peak memory is workers × m plus the queue's requests.
	maxQueue int64
	maxWait  time.Duration
	waiting  atomic.Int64
	// ObserveWait, when set, is told how long each computation waited for
	// a worker (metrics). Set it before first use.
	ObserveWait func(time.Duration)
}

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

// acquire takes a worker slot, waiting in the bounded queue if need be.
func (h *Hasher) acquire() error {
	select {
	case h.slots <- struct{}{}:
		if h.ObserveWait != nil {
			h.ObserveWait(0)
		}
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxQueue {
		h.waiting.Add(-1)
		return ErrOverloaded
	}
	defer h.waiting.Add(-1)
	start := time.Now()
	t := time.NewTimer(h.maxWait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		if h.ObserveWait != nil {
			h.ObserveWait(time.Since(start))
		}
		return nil
	case <-t.C:
		return ErrOverloaded
	}
}

func (h *Hasher) release() { <-h.slots }

// Waiting is how many callers are queued for a worker now.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// Workers is the pool's size.
func (h *Hasher) Workers() int { return cap(h.slots) }

// New returns a Hasher for p. It computes one hash up front, the dummy that
// VerifyDummy checks, so that a login for an unknown user costs the same as
// one with a wrong password.
func New(p Params) (*Hasher, error) { return NewPool(p, Pool{}) }

// NewPool is New with an explicitly sized worker pool.
func NewPool(p Params, pool Pool) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if pool.Workers <= 0 {
		pool.Workers = runtime.GOMAXPROCS(0)
	}
	if pool.MaxQueue <= 0 {
		pool.MaxQueue = 32 * pool.Workers
	}
	if pool.MaxWait <= 0 {
		pool.MaxWait = time.Second
	}
	h := &Hasher{params: p, slots: make(chan struct{}, pool.Workers), maxQueue: int64(pool.MaxQueue), maxWait: pool.MaxWait}
	pw := make([]byte, 24)
	rand.Read(pw)
	d, err := h.Hash(base64.RawStdEncoding.EncodeToString(pw))
	if err != nil {
		return nil, err
	}
	h.dummy = d
	return h, nil
}

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

// Hash returns the argon2id PHC string of pw.
func (h *Hasher) Hash(pw string) (string, error) {
	n, err := Normalize(pw)
	if err != nil {
		return "", err
	}
	if err := h.acquire(); err != nil {
		return "", err
	}
	defer h.release()
	salt := make([]byte, h.params.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(n), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encodeArgon2("argon2id", h.params, salt, key), nil
}

// Verify reports whether pw matches encoded, and whether encoded should be
// replaced by a fresh Hash(pw) because it uses another algorithm or weaker
// parameters. A malformed hash is an error, never a match.
func (h *Hasher) Verify(pw, encoded string) (ok, rehash bool, err error) {
	n, err := Normalize(pw)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(); err != nil {
		return false, false, err
	}
	defer h.release()
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		a, err := parseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		var key []byte
		if a.variant == "argon2id" {
			key = argon2.IDKey([]byte(n), a.salt, a.params.Time, a.params.Memory, a.params.Threads, uint32(len(a.key)))
		} else {
			key = argon2.Key([]byte(n), a.salt, a.params.Time, a.params.Memory, a.params.Threads, uint32(len(a.key)))
		}
		ok = subtle.ConstantTimeCompare(key, a.key) == 1
		return ok, ok && (a.variant != "argon2id" || a.params.Memory != h.params.Memory ||
			a.params.Time != h.params.Time || a.params.Threads != h.params.Threads || uint32(len(a.key)) != h.params.KeyLen), nil
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(n))
		switch {
		case err == nil:
			return true, true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, false, nil
		default:
			return false, false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
	case strings.HasPrefix(encoded, "$scrypt$"):
		s, err := parseScrypt(encoded)
		if err != nil {
			return false, false, err
		}
		key, err := scrypt.Key([]byte(n), s.salt, 1<<s.ln, s.r, s.p, len(s.key))
		if err != nil {
			return false, false, fmt.Errorf("%w: %v", ErrMalformedHash, err)
		}
		ok = subtle.ConstantTimeCompare(key, s.key) == 1
		return ok, ok, nil
	}
	return false, false, ErrMalformedHash
}

// VerifyDummy spends the time of one Verify against a hash no password
// matches. Call it when there is no user, so that the answer's timing does
// not reveal whether the user exists. Its only error is ErrOverloaded (or
// ErrTooLong), so that an unknown user is shed under load exactly like a
// known one.
func (h *Hasher) VerifyDummy(pw string) error {
	_, _, err := h.Verify(pw, h.dummy)
	return err
}

// Check reports whether encoded is a hash Verify understands, for hashes
// imported through the admin API.
func Check(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"), strings.HasPrefix(encoded, "$argon2i$"):
		_, err := parseArgon2(encoded)
		return err
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		if _, err := bcrypt.Cost([]byte(encoded)); err != nil || len(encoded) != 60 {
			return fmt.Errorf("%w: not a bcrypt hash", ErrMalformedHash)
		}
		return nil
	case strings.HasPrefix(encoded, "$scrypt$"):
		_, err := parseScrypt(encoded)
		return err
	}
	return fmt.Errorf("%w: unsupported scheme (want $argon2id$, $argon2i$, $2a$/$2b$/$2y$ or $scrypt$)", ErrMalformedHash)
}

func encodeArgon2(variant string, p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", variant, argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

type argon2Hash struct {
	variant   string
	params    Params
	salt, key []byte
}

// parseArgon2 reads $argon2id$v=19$m=…,t=…,p=…$salt$hash; the version
// field is optional as in the reference implementation's early output.
func parseArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) == 5 { // no v= segment
		parts = append(parts[:2], append([]string{"v=16"}, parts[2:]...)...)
	}
	if len(parts) != 6 || parts[0] != "" {
		return nil, fmt.Errorf("%w: argon2 hash needs 5 $-separated fields", ErrMalformedHash)
	}
	a := &argon2Hash{variant: parts[1]}
	if parts[2] != "v=19" {
		return nil, fmt.Errorf("%w: argon2 version %q unsupported (want v=19)", ErrMalformedHash, parts[2])
	}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: argon2 parameter %q", ErrMalformedHash, kv)
		}
		switch k {
		case "m":
			a.params.Memory = uint32(n)
		case "t":
			a.params.Time = uint32(n)
		case "p":
			if n > 255 {
				return nil, fmt.Errorf("%w: argon2 parallelism %d", ErrMalformedHash, n)
			}
			a.params.Threads = uint8(n)
		default:
			return nil, fmt.Errorf("%w: argon2 parameter %q", ErrMalformedHash, k)
		}
	}
	var err error
	if a.salt, err = decodeB64(parts[4]); err != nil {
		return nil, fmt.Errorf("%w: argon2 salt: %v", ErrMalformedHash, err)
	}
	if a.key, err = decodeB64(parts[5]); err != nil {
		return nil, fmt.Errorf("%w: argon2 hash: %v", ErrMalformedHash, err)
	}
	a.params.SaltLen, a.params.KeyLen = uint32(len(a.salt)), uint32(len(a.key))
	if err := a.params.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	if a.params.Time > 64 {
		return nil, fmt.Errorf("%w: argon2 time %d is unreasonably high", ErrMalformedHash, a.params.Time)
	}
	return a, nil
}

type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

// parseScrypt reads the PHC-style $scrypt$ln=…,r=…,p=…$salt$hash.
func parseScrypt(s string) (*scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, fmt.Errorf("%w: scrypt hash needs 4 $-separated fields", ErrMalformedHash)
	}
	h := &scryptHash{}
	for kv := range strings.SplitSeq(parts[2], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: scrypt parameter %q", ErrMalformedHash, kv)
		}
		switch k {
		case "ln":
			h.ln = n
		case "r":
			h.r = n
		case "p":
			h.p = n
		default:
			return nil, fmt.Errorf("%w: scrypt parameter %q", ErrMalformedHash, k)
		}
	}
	if h.ln < 1 || h.ln > 20 || h.r < 1 || h.r > 32 || h.p < 1 || h.p > 16 {
		return nil, fmt.Errorf("%w: scrypt parameters out of range", ErrMalformedHash)
	}
	var err error
	if h.salt, err = decodeB64(parts[3]); err != nil {
		return nil, fmt.Errorf("%w: scrypt salt: %v", ErrMalformedHash, err)
	}
	if h.key, err = decodeB64(parts[4]); err != nil || len(h.key) < 16 {
		return nil, fmt.Errorf("%w: scrypt hash", ErrMalformedHash)
	}
	return h, nil
}

// decodeB64 accepts standard base64 with or without padding, as PHC
// strings from different tools use either.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Check reports whether encoded is a hash h can verify.
func (h *Hasher) Check(encoded string) error { return Check(encoded) }
