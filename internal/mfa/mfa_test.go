package mfa

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238 appendix B, "12345678901234567890".
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// Ensure codes match the SHA-1 test vectors of RFC 6238 appendix B.
func TestCodeAtRFC6238Vectors(t *testing.T) {
	for _, v := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		got, err := CodeAt(rfcSecret, Step(time.Unix(v.unix, 0)), 8)
		if err != nil || got != v.want {
			t.Errorf("T=%d: got %q, %v; want %s", v.unix, got, err, v.want)
		}
	}
}

// Ensure Match accepts the current step and one either side, says which
// step matched, and refuses anything further away or malformed.
func TestMatchWindow(t *testing.T) {
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	for off := int64(-3); off <= 3; off++ {
		code, _ := CodeAt(rfcSecret, cur+off, Digits)
		step, ok, err := Match(rfcSecret, code, now)
		if err != nil {
			t.Fatal(err)
		}
		wantOK := off >= -Skew && off <= Skew
		if ok != wantOK || (ok && step != cur+off) {
			t.Errorf("offset %d: step %d ok %v, want ok %v step %d", off, step, ok, wantOK, cur+off)
		}
	}
	good, _ := CodeAt(rfcSecret, cur, Digits)
	for _, bad := range []string{"", "12345", "1234567", "12a456", " " + good[1:], good + " "} {
		if _, ok, err := Match(rfcSecret, bad, now); ok || err != nil {
			t.Errorf("Match(%q) = %v, %v; want refused", bad, ok, err)
		}
	}
	if _, _, err := Match("not base32!", "123456", now); err != ErrBadSecret {
		t.Errorf("bad secret: err = %v", err)
	}
}

// Ensure an enrolment carries a usable secret, an otpauth URL naming
// issuer and account, and a PNG QR code.
func TestEnrol(t *testing.T) {
	e, err := Enrol("Acme Corp", "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) != SecretSize {
		t.Fatalf("secret %q: %d bytes, %v", e.Secret, len(raw), err)
	}
	u, err := url.Parse(e.OTPAuthURL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("url %q: %v", e.OTPAuthURL, err)
	}
	q := u.Query()
	if q.Get("issuer") != "Acme Corp" || q.Get("secret") != e.Secret || !strings.Contains(u.Path, "ada@example.com") {
		t.Errorf("url %q lacks issuer, secret or label", e.OTPAuthURL)
	}
	pngBytes, err := base64.StdEncoding.DecodeString(e.QRPNG)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil || img.Bounds().Dx() != qrSize {
		t.Fatalf("QR PNG: %v", err)
	}
	other, _ := Enrol("Acme Corp", "ada@example.com")
	if other.Secret == e.Secret {
		t.Error("two enrolments share a secret")
	}
}

// Ensure oathtool, an independent implementation, agrees with Match.
func TestMatchAgreesWithOathtool(t *testing.T) {
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool not installed (Debian package oathtool; .ci/run installs it)")
	}
	e, err := Enrol("latch", "x@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	out, err := exec.Command(bin, "--totp", "-b", "--now", now.UTC().Format("2006-01-02 15:04:05 UTC"), e.Secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(string(out))
	if step, ok, err := Match(e.Secret, code, now); !ok || err != nil || step != Step(now) {
		t.Fatalf("oathtool code %q not matched at the current step: %d %v %v", code, step, ok, err)
	}
}

// Ensure recovery codes are distinct, readable, and hash the same however
// they are typed.
func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes()
	if len(codes) != RecoveryCodeCount || len(hashes) != RecoveryCodeCount {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	shape := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q has the wrong shape", c)
		}
		if seen[c] {
			t.Errorf("duplicate code %q", c)
		}
		seen[c] = true
		if !bytes.Equal(hashes[i], HashRecoveryCode(c)) {
			t.Errorf("hash %d does not match its code", i)
		}
		typed := strings.ToUpper(strings.ReplaceAll(c, "-", " "))
		if !bytes.Equal(HashRecoveryCode(typed), hashes[i]) {
			t.Errorf("%q typed as %q hashes differently", c, typed)
		}
	}
	if bytes.Equal(HashRecoveryCode("0000-1111"), HashRecoveryCode("0000-1112")) {
		t.Error("different codes share a hash")
	}
	if !bytes.Equal(HashRecoveryCode("oooo-iiii"), HashRecoveryCode("0000-1111")) ||
		!bytes.Equal(HashRecoveryCode("LLLL"), HashRecoveryCode("1111")) {
		t.Error("Crockford look-alikes are not folded")
	}
}
