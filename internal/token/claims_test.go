package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchauth/latch/internal/identity"
)

// claimsCases are claims as latch signs them and the corners of the
// encoding: empty and nil lists, strings that JSON escapes, several
// audiences, absent dates.
func claimsCases() []Claims {
	at := time.Date(2026, 11, 30, 4, 50, 7, 123456789, time.UTC)
	reg := jwt.RegisteredClaims{Issuer: "https://latch.test", Subject: "0193-user", Audience: jwt.ClaimStrings{"tenant"},
		ExpiresAt: jwt.NewNumericDate(at.Add(15 * time.Minute)), NotBefore: jwt.NewNumericDate(at),
		IssuedAt: jwt.NewNumericDate(at), ID: "0193-jti"}
	return []Claims{
		{RegisteredClaims: reg, TenantID: "t", SessionID: "s", Email: "ada@example.com", Roles: []string{}, AMR: []string{"pwd"}},
		{RegisteredClaims: reg, TenantID: "t", SessionID: "s", Email: "ada@example.com", Roles: []string{"admin", "ops"}, AMR: []string{"pwd", "otp"}},
		{RegisteredClaims: reg, Email: `"quoted" \\ <b>&amp; été 😀 ` + "\u2028\x01\x7f", Roles: []string{"r\"<>&"}},
		{RegisteredClaims: jwt.RegisteredClaims{Audience: jwt.ClaimStrings{"a", "b"}}},
		{},
	}
}

func TestClaimsJSONMatchesEncodingJSON(t *testing.T) {
	for i, c := range claimsCases() {
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); string(got) != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestSignMatchesLibrary: the token Sign lays out is byte for byte the
// one jwt.Token.SignedString makes (EdDSA signatures are deterministic),
// and the library verifies the ES256 one.
func TestSignMatchesLibrary(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed := &loadedKey{meta: &identity.SigningKey{ID: "kid-ed", Alg: AlgEdDSA}, signer: priv, method: jwt.SigningMethodEdDSA,
		header: jwtHeader(jwt.SigningMethodEdDSA, "kid-ed")}
	for i, c := range claimsCases() {
		got, err := ed.sign(&c)
		if err != nil {
			t.Fatal(err)
		}
		lib := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
		lib.Header["kid"] = "kid-ed"
		want, err := lib.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("case %d:\n got %s\nwant %s", i, got, want)
		}
	}

	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es := &loadedKey{meta: &identity.SigningKey{ID: "kid-es", Alg: AlgES256}, signer: ec, method: jwt.SigningMethodES256,
		header: jwtHeader(jwt.SigningMethodES256, "kid-es")}
	c := claimsCases()[1]
	tok, err := es.sign(&c)
	if err != nil {
		t.Fatal(err)
	}
	var back Claims
	parsed, err := jwt.ParseWithClaims(tok, &back, func(*jwt.Token) (any, error) { return &ec.PublicKey, nil },
		jwt.WithValidMethods([]string{AlgES256}), jwt.WithoutClaimsValidation())
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["kid"] != "kid-es" || back.Email != c.Email || len(back.AMR) != 2 {
		t.Errorf("parsed %v %+v", parsed.Header, back)
	}
}

// TestClaimsFieldsKnown fails when Claims or jwt.RegisteredClaims gains a
// field: appendJSON writes the fields it names, so a new one would be
// missing from every access token without a word.
func TestClaimsFieldsKnown(t *testing.T) {
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			out = append(out, f.Name+" "+f.Tag.Get("json"))
		}
		return out
	}
	want := []string{"RegisteredClaims ", "TenantID tid", "SessionID sid", "Email email", "Roles roles", "AMR amr"}
	if got := names(reflect.TypeFor[Claims]()); !slices.Equal(got, want) {
		t.Errorf("Claims fields = %q; teach appendJSON the new ones, then this list", got)
	}
	wantReg := []string{"Issuer iss,omitempty", "Subject sub,omitempty", "Audience aud,omitempty", "ExpiresAt exp,omitempty",
		"NotBefore nbf,omitempty", "IssuedAt iat,omitempty", "ID jti,omitempty"}
	if got := names(reflect.TypeFor[jwt.RegisteredClaims]()); !slices.Equal(got, wantReg) {
		t.Errorf("jwt.RegisteredClaims fields = %q; teach appendJSON the new ones, then this list", got)
	}
}

// FuzzClaimsJSON: whatever the strings, appendJSON writes what
// encoding/json does.
func FuzzClaimsJSON(f *testing.F) {
	f.Add("ada@example.com", "admin", "t", "\u2028<&>\"\\\x00é")
	f.Add("", "", "", "\xff\xfe")
	f.Fuzz(func(t *testing.T, email, role, tid, odd string) {
		c := Claims{RegisteredClaims: jwt.RegisteredClaims{Issuer: odd, Subject: email, Audience: jwt.ClaimStrings{tid, odd}, ID: role,
			ExpiresAt: jwt.NewNumericDate(time.Unix(int64(len(odd))*1e6, 0))},
			TenantID: tid, SessionID: odd, Email: email, Roles: []string{role, odd}, AMR: []string{}}
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.appendJSON(nil); string(got) != string(want) {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}
