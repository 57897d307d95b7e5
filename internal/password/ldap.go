package password

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strings"
)

// sshaHash is an LDAP salted SHA hash (RFC 2307 style, as OpenLDAP's
// slappasswd writes it): {SSHA}base64(SHA-1(password ‖ salt) ‖ salt),
// likewise {SSHA256} and {SSHA512}. The scheme name is case-insensitive.
type sshaHash struct {
	digest    func() hash.Hash
	sum, salt []byte
}

func (s *sshaHash) verify(pw []byte) bool {
	h := s.digest()
	h.Write(pw)
	h.Write(s.salt)
	return subtle.ConstantTimeCompare(h.Sum(nil), s.sum) == 1
}

func (*sshaHash) current(Params) bool { return false }

var sshaSchemes = []struct {
	prefix string
	digest func() hash.Hash
	size   int
}{{"{SSHA}", sha1.New, sha1.Size}, {"{SSHA256}", sha256.New, sha256.Size}, {"{SSHA512}", sha512.New, sha512.Size}}

func isSSHA(s string) bool {
	for _, sc := range sshaSchemes {
		if len(s) >= len(sc.prefix) && strings.EqualFold(s[:len(sc.prefix)], sc.prefix) {
			return true
		}
	}
	return false
}

func parseSSHA(s string) (*sshaHash, error) {
	for _, sc := range sshaSchemes {
		if len(s) < len(sc.prefix) || !strings.EqualFold(s[:len(sc.prefix)], sc.prefix) {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(s[len(sc.prefix):])
		if err != nil || len(raw) <= sc.size {
			return nil, malformed("%s needs padded base64 of the %d-byte digest followed by a salt", sc.prefix, sc.size)
		}
		return &sshaHash{digest: sc.digest, sum: raw[:sc.size], salt: raw[sc.size:]}, nil
	}
	return nil, malformed("LDAP scheme not supported ({SSHA}, {SSHA256} or {SSHA512})")
}
