package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
)

// ErrMalformed is returned for any opaque token that does not decode and
// authenticate; the caller learns nothing about which part failed.
var ErrMalformed = errors.New("token: malformed or forged")

// MaxOpaqueLen bounds what Decode looks at.
const MaxOpaqueLen = 256

// Codec encodes (id, generation) pairs as opaque tokens:
// prefix "." base64url(id ‖ uvarint(generation)) "." base64url(HMAC-SHA256).
// Nothing of a token is stored: a server re-derives the expected token
// from the session row, so a database leak yields no usable token.
type Codec struct {
	key []byte
}

// NewCodec returns a Codec keyed from the deployment secret.
func NewCodec(secret []byte) *Codec {
	return &Codec{key: DeriveKey(secret, LabelOpaque)}
}

var (
	b64 = base64.RawURLEncoding
	// b64strict also refuses non-zero unused bits in the last character,
	// so that each token has exactly one spelling.
	b64strict = base64.RawURLEncoding.Strict()
)

// Encode returns the token for id at generation gen.
func (c *Codec) Encode(prefix string, id [16]byte, gen uint64) string {
	var payload [16 + binary.MaxVarintLen64]byte
	copy(payload[:], id[:])
	n := 16 + binary.PutUvarint(payload[16:], gen)
	var sb strings.Builder
	sb.Grow(len(prefix) + 2 + b64.EncodedLen(n) + b64.EncodedLen(sha256.Size))
	sb.WriteString(prefix)
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(payload[:n]))
	signed := sb.String()
	sb.WriteByte('.')
	sb.WriteString(b64.EncodeToString(c.mac(signed)))
	return sb.String()
}

// Decode authenticates tok as a token of the given prefix and returns its
// id and generation. Any failure is ErrMalformed.
func (c *Codec) Decode(prefix, tok string) (id [16]byte, gen uint64, err error) {
	if len(tok) > MaxOpaqueLen || !strings.HasPrefix(tok, prefix+".") || !Alphabet(tok) {
		return id, 0, ErrMalformed
	}
	dot := strings.LastIndexByte(tok, '.')
	if dot <= len(prefix) {
		return id, 0, ErrMalformed
	}
	signed, macPart := tok[:dot], tok[dot+1:]
	got, err := b64strict.DecodeString(macPart)
	if err != nil || !hmac.Equal(got, c.mac(signed)) {
		return id, 0, ErrMalformed
	}
	payload, err := b64strict.DecodeString(signed[len(prefix)+1:])
	if err != nil || len(payload) < 17 {
		return id, 0, ErrMalformed
	}
	copy(id[:], payload[:16])
	gen, n := binary.Uvarint(payload[16:])
	if n <= 0 || 16+n != len(payload) {
		return id, 0, ErrMalformed
	}
	return id, gen, nil
}

// Alphabet reports whether s holds only base64url characters and dots,
// the characters of every token latch issues (JWTs and opaque tokens), none
// of which JSON escapes. The codec checks it because encoding/base64 skips
// \r and \n, which would otherwise let one token have many spellings.
func Alphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (c *Codec) mac(s string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}
