package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
)

// Sealer encrypts small secrets for storage (signing keys, TOTP secrets)
// with AES-256-GCM under a key derived from LATCH_SECRET for one purpose.
// The associated data binds a ciphertext to its row, so a sealed value
// copied onto another record does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the key for label from the deployment secret.
func NewSealer(secret []byte, label string) *Sealer {
	block, err := aes.NewCipher(DeriveKey(secret, label))
	if err != nil {
		panic(err) // DeriveKey always yields 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &Sealer{aead: aead}
}

// Seal returns nonce ‖ ciphertext ‖ tag.
func (s *Sealer) Seal(plain, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plain, ad)
}

// Open reverses Seal. Any failure is ErrSecretMismatch: the value was
// sealed under another LATCH_SECRET, for another row, or was altered.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, ErrSecretMismatch
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], ad)
	if err != nil {
		return nil, ErrSecretMismatch
	}
	return plain, nil
}
