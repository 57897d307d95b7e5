package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
)

// pbkdf2Hash is PBKDF2-HMAC in one of the forms other systems store:
//
//	pbkdf2_sha256$<iterations>$<salt>$<base64 hash>      Django (salt used as text)
//	$pbkdf2-sha256$<iterations>$<salt>$<hash>            passlib, go-crypt/Authelia (adapted base64: . for +)
//	$pbkdf2-sha256$i=<iterations>,l=<len>$<salt>$<hash>  Kratos (PHC parameters, standard base64)
//
// with sha1, sha256 or sha512 (passlib and go-crypt write plain
// $pbkdf2$ for SHA-1).
type pbkdf2Hash struct {
	digest    func() hash.Hash
	iter      int
	salt, key []byte
}

func (p *pbkdf2Hash) verify(pw []byte) bool {
	key, err := pbkdf2.Key(p.digest, string(pw), p.salt, p.iter, len(p.key))
	return err == nil && subtle.ConstantTimeCompare(key, p.key) == 1
}

func (*pbkdf2Hash) current(Params) bool { return false }

var pbkdf2Digests = map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}

func pbkdf2Iterations(v string) (int, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err != nil || n < 1:
		return 0, malformed("pbkdf2 iterations %q is not a positive number", v)
	case n > MaxPBKDF2Iterations:
		return 0, overCap("pbkdf2 iterations", n, MaxPBKDF2Iterations)
	}
	return int(n), nil
}

// parseDjangoPBKDF2 reads Django's pbkdf2_<digest>$iterations$salt$hash.
func parseDjangoPBKDF2(s string) (*pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 4 {
		return nil, malformed("Django pbkdf2 hash needs 4 $-separated fields: pbkdf2_sha256$iterations$salt$hash")
	}
	p := &pbkdf2Hash{digest: pbkdf2Digests[strings.TrimPrefix(parts[0], "pbkdf2_")]}
	if p.digest == nil {
		return nil, malformed("Django pbkdf2 digest %q is not supported (sha1, sha256, sha512)", parts[0])
	}
	var err error
	if p.iter, err = pbkdf2Iterations(parts[1]); err != nil {
		return nil, err
	}
	if parts[2] == "" {
		return nil, malformed("Django pbkdf2 salt is empty")
	}
	p.salt = []byte(parts[2])
	if p.key, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(p.key) < 16 || len(p.key) > 1024 {
		return nil, malformed("Django pbkdf2 hash must be padded base64 of 16 to 1024 bytes")
	}
	return p, nil
}

// parsePHCPBKDF2 reads the passlib/go-crypt and Kratos forms.
func parsePHCPBKDF2(s string) (*pbkdf2Hash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed("pbkdf2 hash needs 4 $-separated fields: $pbkdf2-sha256$iterations$salt$hash")
	}
	name := strings.TrimPrefix(strings.TrimPrefix(parts[1], "pbkdf2"), "-")
	if name == "" {
		name = "sha1"
	}
	p := &pbkdf2Hash{digest: pbkdf2Digests[name]}
	if p.digest == nil {
		return nil, malformed("pbkdf2 digest %q is not supported (sha1, sha256, sha512)", parts[1])
	}
	var err error
	keyLen := -1
	if !strings.Contains(parts[2], "=") {
		p.iter, err = pbkdf2Iterations(parts[2])
	} else {
		for kv := range strings.SplitSeq(parts[2], ",") {
			k, v, _ := strings.Cut(kv, "=")
			switch {
			case k == "i" && p.iter == 0:
				p.iter, err = pbkdf2Iterations(v)
			case k == "l" && keyLen < 0:
				keyLen, err = strconv.Atoi(v)
				if err != nil {
					err = malformed("pbkdf2 key length %q is not a number", v)
				}
			default:
				err = malformed("pbkdf2 parameter %q is unknown or repeated", kv)
			}
			if err != nil {
				return nil, err
			}
		}
		if p.iter == 0 {
			return nil, malformed("pbkdf2 hash needs i=<iterations>")
		}
	}
	if err != nil {
		return nil, err
	}
	if p.salt, err = decodeAdaptedB64(parts[3]); err != nil || len(p.salt) == 0 {
		return nil, malformed("pbkdf2 salt is not base64")
	}
	if p.key, err = decodeAdaptedB64(parts[4]); err != nil || len(p.key) < 16 || len(p.key) > 1024 {
		return nil, malformed("pbkdf2 hash must be base64 of 16 to 1024 bytes")
	}
	if keyLen >= 0 && keyLen != len(p.key) {
		return nil, malformed("pbkdf2 l=%d does not match the hash's %d bytes", keyLen, len(p.key))
	}
	return p, nil
}

// decodeAdaptedB64 reads standard base64, with or without padding, or
// passlib's adapted alphabet that writes . for +.
func decodeAdaptedB64(s string) ([]byte, error) {
	return decodeB64(strings.ReplaceAll(s, ".", "+"))
}
