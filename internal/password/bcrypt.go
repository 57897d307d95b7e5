package password

import (
	"golang.org/x/crypto/bcrypt"
)

// bcryptHash is a modular-crypt bcrypt hash, $2a$, $2b$ or $2y$ (the three
// differ only in bugs of old implementations that do not affect
// verification of what they wrote).
type bcryptHash struct{ encoded []byte }

// bcryptMaxBytes is where bcrypt stops reading a password.
const bcryptMaxBytes = 72

// verify compares the password's first 72 bytes, as the implementations
// that wrote these hashes did: a longer password was hashed truncated
// there, so its owner's full password must still match. (x/crypto refuses
// longer inputs rather than truncate; the hash is replaced by argon2id,
// which reads every byte, at this first successful login.)
func (b *bcryptHash) verify(pw []byte) bool {
	if len(pw) > bcryptMaxBytes {
		pw = pw[:bcryptMaxBytes]
	}
	return bcrypt.CompareHashAndPassword(b.encoded, pw) == nil
}

func (*bcryptHash) current(Params) bool { return false }

func parseBcrypt(s string) (*bcryptHash, error) {
	if len(s) != 60 {
		return nil, malformed("a bcrypt hash is 60 characters: $2b$cost$ and 53 of salt and hash")
	}
	cost, err := bcrypt.Cost([]byte(s))
	if err != nil {
		return nil, malformed("not a bcrypt hash: %v", err)
	}
	if cost > MaxBcryptCost {
		return nil, overCap("bcrypt cost", uint64(cost), MaxBcryptCost)
	}
	// bcrypt.Cost reads only the header; decode the salt and hash too, so
	// that a damaged hash is refused at import rather than at login.
	for _, c := range s[7:] {
		if !isBcryptB64(c) {
			return nil, malformed("bcrypt salt and hash use ./A-Za-z0-9 only")
		}
	}
	return &bcryptHash{encoded: []byte(s)}, nil
}

func isBcryptB64(c rune) bool {
	return c == '.' || c == '/' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}
