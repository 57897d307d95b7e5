package token

import (
	"bytes"
	"errors"
	"testing"
)

// Ensure sealed values open only with the same secret, label and
// associated data, and that any altered byte is detected.
func TestSealer(t *testing.T) {
	secret := []byte("a deployment secret of some length")
	s := NewSealer(secret, LabelTOTP)
	sealed := s.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("totp:u1"))
	if again := s.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("totp:u1")); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if got, err := s.Open(sealed, []byte("totp:u1")); err != nil || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"other ad":     func() ([]byte, error) { return s.Open(sealed, []byte("totp:u2")) },
		"other label":  func() ([]byte, error) { return NewSealer(secret, LabelSigningKeys).Open(sealed, []byte("totp:u1")) },
		"other secret": func() ([]byte, error) { return NewSealer([]byte("x"), LabelTOTP).Open(sealed, []byte("totp:u1")) },
		"truncated":    func() ([]byte, error) { return s.Open(sealed[:10], []byte("totp:u1")) },
	} {
		if _, err := open(); !errors.Is(err, ErrSecretMismatch) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 1
		if _, err := s.Open(bad, []byte("totp:u1")); err == nil {
			t.Fatalf("flipping byte %d went unnoticed", i)
		}
	}
}
