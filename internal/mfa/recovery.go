package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"strings"
)

// RecoveryCodeCount is how many recovery codes an enrolment yields.
const RecoveryCodeCount = 10

// Recovery codes are 16 characters of Crockford's base32 (80 bits each),
// written in four groups of four so that they can be read aloud and typed
// from paper. Crockford's alphabet has no i, l, o or u; when a code is
// typed, o reads as 0 and i or l as 1.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

const (
	recoveryGroups    = 4
	recoveryGroupSize = 4
)

// NewRecoveryCodes returns RecoveryCodeCount fresh codes and their hashes,
// in the same order. Only the hashes may be stored.
func NewRecoveryCodes() (codes []string, hashes [][]byte) {
	for range RecoveryCodeCount {
		c := newRecoveryCode()
		codes = append(codes, c)
		hashes = append(hashes, HashRecoveryCode(c))
	}
	return codes, hashes
}

func newRecoveryCode() string {
	raw := make([]byte, recoveryGroups*recoveryGroupSize)
	rand.Read(raw)
	var b strings.Builder
	for i, r := range raw {
		if i > 0 && i%recoveryGroupSize == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(alphabet[r%32]) // 256 is a multiple of 32: no bias
	}
	return b.String()
}

// HashRecoveryCode hashes a code as typed: case, spaces and dashes do not
// matter. A fast hash is enough because codes carry 80 random bits; there
// is nothing to brute-force from a leaked hash.
func HashRecoveryCode(code string) []byte {
	norm := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			return -1
		case r == 'o' || r == 'O':
			return '0'
		case r == 'i' || r == 'I' || r == 'l' || r == 'L':
			return '1'
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
	h := sha256.Sum256([]byte("latch/recovery-code/v1\x00" + norm))
	return h[:]
}
