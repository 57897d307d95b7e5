package mfa

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The parameters of docs/wire-contract.md (credentials), which every authenticator app supports.
const (
	Period     = 30 * time.Second
	Digits     = 6
	Skew       = 1  // steps accepted either side of the current one
	SecretSize = 20 // bytes: the HMAC-SHA1 block the RFC's examples use
	qrSize     = 256
)

// Enrolment is a freshly generated TOTP secret and the ways to hand it to
// an authenticator app.
type Enrolment struct {
	Secret     string // base32, no padding, as apps expect it typed in
	OTPAuthURL string // otpauth://totp/issuer:label?secret=…
	QRPNG      string // the URL as a QR code, PNG, standard base64
}

// Enrol generates a secret for account (the user's email) under issuer
// (the tenant's name).
func Enrol(issuer, account string) (*Enrolment, error) {
	if issuer == "" {
		issuer = "latch"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: uint(Period / time.Second),
		SecretSize: SecretSize, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: generate secret: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	return &Enrolment{Secret: key.Secret(), OTPAuthURL: key.URL(), QRPNG: base64.StdEncoding.EncodeToString(buf.Bytes())}, nil
}

// ErrBadSecret means a stored secret is not base32; it can only come from
// a corrupted row.
var ErrBadSecret = errors.New("mfa: TOTP secret is not base32")

// Step returns the RFC 6238 time step that contains t.
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Match reports which time step within ±Skew of now the code belongs to.
// Every candidate is computed and compared in constant time, so the answer
// takes the same time whichever step (if any) matched. Callers must refuse
// a step at or before the last one they accepted: that is a replay.
func Match(secret, code string, now time.Time) (step int64, ok bool, err error) {
	if len(code) != Digits || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	cur := Step(now)
	for s := cur - Skew; s <= cur+Skew; s++ {
		want, err := CodeAt(secret, s, Digits)
		if err != nil {
			return 0, false, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok, nil
}

// CodeAt is the code for one time step with the given number of digits
// (6 in latch; 8 in the RFC's test vectors).
func CodeAt(secret string, step int64, digits int) (string, error) {
	if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "="))); err != nil {
		return "", ErrBadSecret
	}
	code, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.Digits(digits), Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", ErrBadSecret
	}
	return code, nil
}
