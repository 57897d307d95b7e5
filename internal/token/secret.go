package token

import (
	"crypto/hkdf"
	"crypto/sha256"
)

// Labels for keys derived from LATCH_SECRET. Each use gets its own key so
// that no two mechanisms ever share key material.
const (
	LabelOpaque      = "latch/opaque-token/v1"
	LabelSigningKeys = "latch/signing-key-encryption/v1"
	LabelTOTP        = "latch/totp-secret/v1"
	LabelWebhook     = "latch/webhook-secret/v1"
	LabelMigration   = "latch/migration-api-key/v1"
)

// DeriveKey derives a 32-byte key for label from the deployment secret
// with HKDF-SHA256.
func DeriveKey(secret []byte, label string) []byte {
	k, err := hkdf.Key(sha256.New, secret, nil, label, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot produce; 32 is always fine
	}
	return k
}
