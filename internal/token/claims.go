package token

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Access tokens are signed on every login and every refresh, so Sign lays
// them out itself instead of through jwt.Token.SignedString, which
// marshals a header map and the claims by reflection each time: the
// header's segment is encoded once per key (jwtHeader), the claims by
// appendJSON, and the library's SigningMethod signs. The bytes are those
// SignedString produces (TestSignMatchesLibrary), and tokens are parsed
// and verified by the library as before.

// jwtHeader is the base64url header segment SignedString writes for a
// token of method with key id kid.
func jwtHeader(method jwt.SigningMethod, kid string) string {
	h, err := json.Marshal(map[string]any{"typ": "JWT", "alg": method.Alg(), "kid": kid})
	if err != nil {
		panic(err) // three strings
	}
	return base64.RawURLEncoding.EncodeToString(h)
}

// fastClaims reports whether appendJSON writes what json.Marshal would
// with the library's settings as they are: seconds, and a single audience
// as an array (its defaults, which latch never changes).
func fastClaims() bool {
	return jwt.TimePrecision == time.Second && jwt.MarshalSingleStringAsArray
}

// appendJSON appends c as json.Marshal encodes it (fields in declaration
// order, RegisteredClaims' omitempty, nil slices as null).
func (c *Claims) appendJSON(b []byte) []byte {
	b = append(b, '{')
	first := true
	field := func(name string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, '"', ':')
	}
	str := func(name, v string) {
		field(name)
		b = appendJSONString(b, v)
	}
	date := func(name string, d *jwt.NumericDate) {
		if d != nil {
			field(name)
			b = strconv.AppendInt(b, d.Truncate(time.Second).Unix(), 10)
		}
	}
	strs := func(name string, v []string) {
		field(name)
		if v == nil {
			b = append(b, "null"...)
			return
		}
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	}
	r := &c.RegisteredClaims
	if r.Issuer != "" {
		str("iss", r.Issuer)
	}
	if r.Subject != "" {
		str("sub", r.Subject)
	}
	if len(r.Audience) > 0 {
		strs("aud", r.Audience)
	}
	date("exp", r.ExpiresAt)
	date("nbf", r.NotBefore)
	date("iat", r.IssuedAt)
	if r.ID != "" {
		str("jti", r.ID)
	}
	str("tid", c.TenantID)
	str("sid", c.SessionID)
	str("email", c.Email)
	strs("roles", c.Roles)
	strs("amr", c.AMR)
	return append(b, '}')
}

// appendJSONString appends s quoted as encoding/json quotes it: the
// printable ASCII it leaves alone is copied, anything else (escapes,
// HTML characters, non-ASCII) goes through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// maxSignature is the longest signature of the algorithms latch signs with
// (RS256 with a 2048-bit key; EdDSA and ES256 take 64 bytes).
const maxSignature = 256

// sign returns c as a JWT signed with key, as jwt.Token.SignedString
// would with the header {"alg", "kid", "typ"}.
func (key *loadedKey) sign(c *Claims) (string, error) {
	if !fastClaims() {
		t := jwt.NewWithClaims(key.method, c)
		t.Header["kid"] = key.meta.ID
		return t.SignedString(key.signer)
	}
	var buf [1024]byte
	claims := c.appendJSON(buf[:0])
	enc := base64.RawURLEncoding
	tok := make([]byte, 0, len(key.header)+2+enc.EncodedLen(len(claims))+enc.EncodedLen(maxSignature))
	tok = append(tok, key.header...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, claims)
	sig, err := key.method.Sign(string(tok), key.signer)
	if err != nil {
		return "", err
	}
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, sig)
	return string(tok), nil
}
