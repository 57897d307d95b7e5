package token_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustStore(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "k.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustKeyring(tb testing.TB, db *sqlite.DB, alg string, clk *clock) *token.Keyring {
	tb.Helper()
	k, err := token.NewKeyring(context.Background(), db, token.KeyringConfig{
		Secret: []byte("keyring test secret, 32+ bytes long"), Alg: alg, Issuer: "https://latch.test",
		AccessTTL: 15 * time.Minute, Now: clk.now,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

type jwks struct {
	Keys []map[string]string `json:"keys"`
}

func parseJWKS(t *testing.T, k *token.Keyring) jwks {
	t.Helper()
	b, etag := k.JWKS()
	if etag == "" {
		t.Fatal("no etag")
	}
	var set jwks
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// Ensure each algorithm signs tokens with the §4 claims that verify against
// the published JWKS key, independently of the keyring.
func TestSignAndPublish(t *testing.T) {
	for _, alg := range []string{token.AlgEdDSA, token.AlgES256, token.AlgRS256} {
		t.Run(alg, func(t *testing.T) {
			clk := &clock{time.Now()}
			k := mustKeyring(t, mustStore(t), alg, clk)
			tok, exp, err := k.SignAccess(identity.AccessClaims{Subject: "u1", TenantID: "t1", SessionID: "s1",
				Email: "a@example.com", Roles: []string{"admin"}, AMR: []string{"pwd"}})
			if err != nil {
				t.Fatal(err)
			}
			if d := exp.Sub(clk.t); d < 14*time.Minute || d > 15*time.Minute {
				t.Fatalf("expiry in %v", d)
			}
			c, err := k.Verify(tok)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject != "u1" || c.TenantID != "t1" || c.SessionID != "s1" || c.Email != "a@example.com" ||
				c.Audience[0] != "t1" || c.ID == "" || c.AMR[0] != "pwd" || c.Roles[0] != "admin" || c.NotBefore == nil {
				t.Fatalf("claims %+v", c)
			}
			set := parseJWKS(t, k)
			if len(set.Keys) != 1 || set.Keys[0]["alg"] != alg || set.Keys[0]["use"] != "sig" {
				t.Fatalf("jwks %+v", set)
			}
			hdr, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			var h map[string]string
			json.Unmarshal(hdr, &h)
			if h["kid"] != set.Keys[0]["kid"] || h["alg"] != alg {
				t.Fatalf("header %v", h)
			}
			if alg == token.AlgEdDSA {
				// Verify with nothing but the JWKS entry and golang-jwt.
				x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0]["x"])
				_, err := jwt.Parse(tok, func(*jwt.Token) (any, error) { return ed25519.PublicKey(x), nil },
					jwt.WithValidMethods([]string{"EdDSA"}))
				if err != nil {
					t.Fatalf("JWKS key does not verify the token: %v", err)
				}
			}
		})
	}
}

// Ensure a second instance on the same store signs with the same key, and
// one with another secret refuses to start.
func TestKeysShared(t *testing.T) {
	db := mustStore(t)
	clk := &clock{time.Now()}
	a := mustKeyring(t, db, token.AlgEdDSA, clk)
	b := mustKeyring(t, db, token.AlgEdDSA, clk)
	tok, _, _ := a.SignAccess(identity.AccessClaims{Subject: "u"})
	if _, err := b.Verify(tok); err != nil {
		t.Fatalf("second instance cannot verify: %v", err)
	}
	if ka, kb := parseJWKS(t, a), parseJWKS(t, b); ka.Keys[0]["kid"] != kb.Keys[0]["kid"] || len(kb.Keys) != 1 {
		t.Fatal("instances publish different keys")
	}
	_, err := token.NewKeyring(context.Background(), db, token.KeyringConfig{Secret: []byte("another secret entirely, 32 bytes"),
		Alg: token.AlgEdDSA, Issuer: "x", AccessTTL: time.Minute})
	if !errors.Is(err, token.ErrSecretMismatch) {
		t.Fatalf("err = %v, want ErrSecretMismatch", err)
	}
}

// Ensure rotation publishes the new key at once, signs with it only from
// its activation, and keeps the old key published until its tokens expire.
func TestRotation(t *testing.T) {
	db := mustStore(t)
	clk := &clock{time.Now()}
	k := mustKeyring(t, db, token.AlgEdDSA, clk)
	oldKid := parseJWKS(t, k).Keys[0]["kid"]
	oldTok, _, _ := k.SignAccess(identity.AccessClaims{Subject: "u"})

	next, err := k.Rotate(context.Background(), "", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(11 * time.Second) // past the JWKS cache
	if set := parseJWKS(t, k); len(set.Keys) != 2 {
		t.Fatalf("pending key not published: %d keys", len(set.Keys))
	}
	if kid := kidOf(t, k); kid != oldKid {
		t.Fatal("pending key signs before its activation")
	}
	clk.t = clk.t.Add(5 * time.Minute)
	if kid := kidOf(t, k); kid != next.ID {
		t.Fatal("new key does not sign after activation")
	}
	if _, err := k.Verify(oldTok); err != nil {
		t.Fatalf("old token no longer verifies: %v", err)
	}
	clk.t = clk.t.Add(15*time.Minute + 2*time.Minute)
	set := parseJWKS(t, k)
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != next.ID {
		t.Fatalf("retired key still published after its tokens expired: %v", set)
	}
}

func kidOf(t *testing.T, k *token.Keyring) string {
	t.Helper()
	tok, _, err := k.SignAccess(identity.AccessClaims{Subject: "u"})
	if err != nil {
		t.Fatal(err)
	}
	p, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	return p.Header["kid"].(string)
}

// Ensure a token from another issuer, an expired token and a tampered one
// are refused.
func TestVerifyRejects(t *testing.T) {
	clk := &clock{time.Now()}
	k := mustKeyring(t, mustStore(t), token.AlgEdDSA, clk)
	tok, _, _ := k.SignAccess(identity.AccessClaims{Subject: "u"})
	// Change a character well inside the signature: the last one carries
	// only 2 bits, so changing it may decode to the same bytes.
	i := len(tok) - 10
	flipped := byte('A')
	if tok[i] == 'A' {
		flipped = 'B'
	}
	if _, err := k.Verify(tok[:i] + string(flipped) + tok[i+1:]); err == nil {
		t.Fatal("tampered token verified")
	}
	clk.t = clk.t.Add(16 * time.Minute)
	if _, err := k.Verify(tok); err == nil {
		t.Fatal("expired token verified")
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "u", "iss": "https://latch.test", "exp": clk.t.Add(time.Hour).Unix()})
	s, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if _, err := k.Verify(s); err == nil {
		t.Fatal("alg=none token verified")
	}
}

// Ensure a keyring configured with another algorithm than the active key's
// keeps signing with the active key: a key of the new algorithm created at
// start would sign before any verifier had seen it in the JWKS (and a
// later start with the first algorithm failed).
func TestOtherAlgorithmCreatesNoUnannouncedKey(t *testing.T) {
	db := mustStore(t)
	clk := &clock{time.Now()}
	first := mustKeyring(t, db, token.AlgEdDSA, clk)
	kid := kidOf(t, first)
	other := mustKeyring(t, db, token.AlgES256, clk)
	if got := kidOf(t, other); got != kid {
		t.Fatalf("a keyring configured for ES256 signs with %s, want the active EdDSA key %s", got, kid)
	}
	if keys, _ := db.ListSigningKeys(context.Background()); len(keys) != 1 {
		t.Fatalf("%d keys stored, want 1", len(keys))
	}
	if a := other.Active(); a == nil || a.Alg != token.AlgEdDSA {
		t.Fatalf("active key %+v", a)
	}
	// Back to the first algorithm: starts, as before.
	mustKeyring(t, db, token.AlgEdDSA, clk)
}

// Ensure a rotation to another algorithm publishes the new key first and
// signs with it only from its activation, and that a rotation shorter than
// MinActivateIn is refused.
func TestRotateAlgorithm(t *testing.T) {
	db := mustStore(t)
	clk := &clock{time.Now()}
	k := mustKeyring(t, db, token.AlgEdDSA, clk)
	oldKid := kidOf(t, k)
	if _, err := k.Rotate(context.Background(), token.AlgES256, 10*time.Second); err == nil {
		t.Fatal("a key active 10 s after creation was accepted")
	}
	next, err := k.Rotate(context.Background(), token.AlgES256, token.MinActivateIn)
	if err != nil {
		t.Fatal(err)
	}
	if next.Alg != token.AlgES256 {
		t.Fatalf("new key %s", next.Alg)
	}
	clk.t = clk.t.Add(11 * time.Second)
	set := parseJWKS(t, k)
	if len(set.Keys) != 2 || set.Keys[1]["alg"] != token.AlgES256 {
		t.Fatalf("pending ES256 key not published: %v", set)
	}
	if kidOf(t, k) != oldKid {
		t.Fatal("the ES256 key signs before its activation")
	}
	clk.t = clk.t.Add(token.MinActivateIn)
	if kidOf(t, k) != next.ID {
		t.Fatal("the ES256 key does not sign after its activation")
	}
	// A server still configured for EdDSA starts and signs with ES256.
	if got := kidOf(t, mustKeyring(t, db, token.AlgEdDSA, clk)); got != next.ID {
		t.Fatalf("restart with the old setting signs with %s", got)
	}
	// Rotating with "" keeps the active algorithm.
	again, err := k.Rotate(context.Background(), "", token.DefaultActivateIn)
	if err != nil || again.Alg != token.AlgES256 {
		t.Fatalf("rotate with the active algorithm: %v %v", again, err)
	}
}

// Ensure LoadKeyring creates no key, and Rotate refuses without an
// active key to take the algorithm from.
func TestLoadKeyringCreatesNothing(t *testing.T) {
	db := mustStore(t)
	k, err := token.LoadKeyring(context.Background(), db, token.KeyringConfig{Secret: []byte("keyring test secret, 32+ bytes long"), AccessTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if k.Active() != nil {
		t.Fatal("an active key on an empty store")
	}
	if _, err := k.Rotate(context.Background(), "", token.DefaultActivateIn); err == nil {
		t.Fatal("rotated without an active key")
	}
	if keys, _ := db.ListSigningKeys(context.Background()); len(keys) != 0 {
		t.Fatalf("%d keys stored", len(keys))
	}
}
