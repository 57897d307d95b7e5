package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Hash is a PHC string $argon2id$v=19$m=…,t=…,p=…$salt$hash (or
// $argon2i$), as the reference implementation, libsodium, passlib and
// latch itself write it.
type argon2Hash struct {
	id        bool // argon2id, else argon2i
	params    Params
	salt, key []byte
}

func (a *argon2Hash) verify(pw []byte) bool {
	p := a.params
	var key []byte
	if a.id {
		key = argon2.IDKey(pw, a.salt, p.Time, p.Memory, p.Threads, uint32(len(a.key)))
	} else {
		key = argon2.Key(pw, a.salt, p.Time, p.Memory, p.Threads, uint32(len(a.key)))
	}
	return subtle.ConstantTimeCompare(key, a.key) == 1
}

func (a *argon2Hash) current(p Params) bool {
	q := a.params
	return a.id && q.Memory == p.Memory && q.Time == p.Time && q.Threads == p.Threads && q.KeyLen == p.KeyLen
}

func encodeArgon2(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseArgon2 reads an argon2 PHC string. Only version 19 (0x13) is
// supported; every tool has written it since 2016.
func parseArgon2(s string) (*argon2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return nil, malformed("argon2 hash needs 5 $-separated fields: $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" && parts[1] != "argon2i" {
		return nil, malformed("argon2 variant %q is not supported (argon2id, argon2i)", parts[1])
	}
	a := &argon2Hash{id: parts[1] == "argon2id"}
	if parts[2] != "v=19" {
		return nil, malformed("argon2 version %q is not supported (want v=19)", parts[2])
	}
	var seen [3]bool
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, malformed("argon2 parameter %q is not a number", kv)
		}
		i := strings.Index("mtp", k)
		if len(k) != 1 || i < 0 || seen[i] {
			return nil, malformed("argon2 parameter %q is unknown or repeated", k)
		}
		seen[i] = true
		switch k {
		case "m":
			if n > MaxArgon2Memory {
				return nil, overCap("argon2 memory (m, KiB)", n, MaxArgon2Memory)
			}
			a.params.Memory = uint32(n)
		case "t":
			if n > MaxArgon2Time {
				return nil, overCap("argon2 time (t)", n, MaxArgon2Time)
			}
			a.params.Time = uint32(n)
		case "p":
			if n > MaxArgon2Threads {
				return nil, overCap("argon2 parallelism (p)", n, MaxArgon2Threads)
			}
			a.params.Threads = uint8(n)
		}
	}
	if seen != [3]bool{true, true, true} {
		return nil, malformed("argon2 hash needs m, t and p")
	}
	var err error
	if a.salt, err = decodeB64(parts[4]); err != nil || len(a.salt) < 8 {
		return nil, malformed("argon2 salt must be base64 of at least 8 bytes")
	}
	if a.key, err = decodeB64(parts[5]); err != nil || len(a.key) < 4 || len(a.key) > 1024 {
		return nil, malformed("argon2 hash must be base64 of 4 to 1024 bytes")
	}
	a.params.SaltLen, a.params.KeyLen = uint32(len(a.salt)), uint32(len(a.key))
	switch {
	case a.params.Time < 1 || a.params.Threads < 1:
		return nil, malformed("argon2 t and p must be at least 1")
	case a.params.Memory < 8*uint32(a.params.Threads):
		return nil, malformed("argon2 memory must be at least 8 KiB per lane (p)")
	}
	return a, nil
}
