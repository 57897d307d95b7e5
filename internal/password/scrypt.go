package password

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// scryptHash is a PHC-style scrypt string, $scrypt$ln=…,r=…,p=…$salt$hash
// with N = 2^ln, as passlib and Kratos write it.
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

func (s *scryptHash) verify(pw []byte) bool {
	key, err := scrypt.Key(pw, s.salt, 1<<s.ln, s.r, s.p, len(s.key))
	return err == nil && subtle.ConstantTimeCompare(key, s.key) == 1
}

func (*scryptHash) current(Params) bool { return false }

// scryptParams reads ln=…,r=…,p=… and applies the cost caps.
func scryptParams(name, s string) (ln, r, p int, err error) {
	var seen [3]bool
	for kv := range strings.SplitSeq(s, ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1<<20 {
			return 0, 0, 0, malformed("%s parameter %q is not a positive number", name, kv)
		}
		i := map[string]int{"ln": 0, "r": 1, "p": 2}[k]
		if (i == 0 && k != "ln") || seen[i] {
			return 0, 0, 0, malformed("%s parameter %q is unknown or repeated", name, k)
		}
		seen[i] = true
		switch k {
		case "ln":
			ln = n
		case "r":
			r = n
		case "p":
			p = n
		}
	}
	switch {
	case seen != [3]bool{true, true, true}:
		return 0, 0, 0, malformed("%s hash needs ln, r and p", name)
	case ln >= 40:
		return 0, 0, 0, overCap(name+" ln (log2 N)", uint64(ln), 20)
	}
	mem := uint64(128) << ln * uint64(r)
	switch {
	case mem > MaxScryptMemory:
		return 0, 0, 0, overCap(name+" memory N·r·128 (bytes)", mem, MaxScryptMemory)
	case p > MaxScryptP:
		return 0, 0, 0, overCap(name+" parallelism (p)", uint64(p), MaxScryptP)
	case mem*uint64(p) > MaxScryptWork:
		return 0, 0, 0, overCap(name+" work N·r·p·128 (bytes)", mem*uint64(p), MaxScryptWork)
	}
	return ln, r, p, nil
}

func parseScrypt(s string) (*scryptHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" {
		return nil, malformed("scrypt hash needs 4 $-separated fields: $scrypt$ln=…,r=…,p=…$salt$hash")
	}
	h := &scryptHash{}
	var err error
	if h.ln, h.r, h.p, err = scryptParams("scrypt", parts[2]); err != nil {
		return nil, err
	}
	if h.salt, err = decodeB64(parts[3]); err != nil {
		return nil, malformed("scrypt salt is not base64")
	}
	if h.key, err = decodeB64(parts[4]); err != nil || len(h.key) < 16 || len(h.key) > 1024 {
		return nil, malformed("scrypt hash must be base64 of 16 to 1024 bytes")
	}
	return h, nil
}

// firebaseHash is Firebase Authentication's modified scrypt in the
// self-contained form Kratos defined for it:
//
//	$firescrypt$ln=<mem_cost>,r=<rounds>,p=1$<salt>$<hash>$<salt separator>$<signer key>
//
// all four in standard base64 as Firebase exports them. The key scrypt
// derives from the password and salt+separator encrypts the project's
// signer key with AES-256-CTR (zero IV); the result is the stored hash.
type firebaseHash struct {
	scryptHash
	separator, signerKey []byte
}

func (f *firebaseHash) verify(pw []byte) bool {
	salt := append(append([]byte{}, f.salt...), f.separator...)
	key, err := scrypt.Key(pw, salt, 1<<f.ln, f.r, f.p, 32)
	if err != nil {
		return false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return false
	}
	out := make([]byte, len(f.signerKey))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, f.signerKey)
	return subtle.ConstantTimeCompare(out, f.key) == 1
}

func parseFirebase(s string) (*firebaseHash, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 7 || parts[0] != "" {
		return nil, malformed("firescrypt hash needs 6 $-separated fields: $firescrypt$ln=…,r=…,p=…$salt$hash$saltSeparator$signerKey")
	}
	f := &firebaseHash{}
	var err error
	if f.ln, f.r, f.p, err = scryptParams("firescrypt", parts[2]); err != nil {
		return nil, err
	}
	if f.salt, err = decodeB64(parts[3]); err != nil {
		return nil, malformed("firescrypt salt is not base64")
	}
	if f.key, err = decodeB64(parts[4]); err != nil || len(f.key) < 16 || len(f.key) > 256 {
		return nil, malformed("firescrypt hash must be base64 of 16 to 256 bytes")
	}
	if f.separator, err = decodeB64(parts[5]); err != nil {
		return nil, malformed("firescrypt salt separator is not base64")
	}
	if f.signerKey, err = decodeB64(parts[6]); err != nil || len(f.signerKey) != len(f.key) {
		return nil, malformed("firescrypt signer key must be base64 of as many bytes as the hash")
	}
	return f, nil
}
