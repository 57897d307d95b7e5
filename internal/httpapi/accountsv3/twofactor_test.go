package accountsv3_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
	"github.com/latchauth/latch/internal/mfa"
)

// totpFixture is a user with a confirmed TOTP enrolment.
type totpFixture struct {
	*fixture
	secret        string
	recoveryCodes []string
}

func (f *fixture) totpPath() string {
	return "/admin/v1/tenants/" + f.tenant + "/users/" + f.user + "/totp"
}

func (f *fixture) beginTOTP(t *testing.T) string {
	t.Helper()
	r := f.Admin(t, "POST", f.totpPath(), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("begin enrolment: %d %s", r.Status, r.Body)
	}
	m := r.JSON(t)
	for _, k := range []string{"secret", "otpauth_url", "qr_png"} {
		if s, _ := m[k].(string); s == "" {
			t.Fatalf("enrolment lacks %s: %s", k, r.Body)
		}
	}
	return m["secret"].(string)
}

// code is the code the user's app shows now, by the server's clock.
func (f *fixture) code(t *testing.T, secret string) string {
	t.Helper()
	c, err := mfa.CodeAt(secret, mfa.Step(f.Now()), mfa.Digits)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a well-formed code that matches no step the server accepts now.
func (f *fixture) wrongCode(t *testing.T, secret string) string {
	t.Helper()
	for i := 0; ; i++ {
		c := fmt.Sprintf("%06d", i)
		if _, ok, _ := mfa.Match(secret, c, f.Now()); !ok {
			if _, ok, _ := mfa.Match(secret, c, f.Now().Add(mfa.Period)); !ok {
				return c
			}
		}
	}
}

func setupTOTP(t *testing.T) *totpFixture {
	t.Helper()
	f := setup(t)
	secret := f.beginTOTP(t)
	r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": f.code(t, secret)})
	if r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	var codes []string
	for _, c := range r.JSON(t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	return &totpFixture{fixture: f, secret: secret, recoveryCodes: codes}
}

func (f *fixture) login2FA(t *testing.T, extra map[string]any) *httpapitest.Response {
	t.Helper()
	body := map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": pw}
	for k, v := range extra {
		body[k] = v
	}
	return f.login(t, body)
}

func (f *fixture) amr(t *testing.T, r *httpapitest.Response) []string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	c, err := f.Keys.Verify(r.JSON(t)["accessToken"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return c.AMR
}

func (f *fixture) twoFactorEnabled(t *testing.T) bool {
	t.Helper()
	r := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/users/"+f.user, nil)
	return r.JSON(t)["two_factor_enabled"].(bool)
}

// The rules of enrolment, codes, recovery codes and lock-outs are
// identity's stories (story_secondfactor_test.go); these tests check how
// the admin API and the accounts-v3 dialect say them.

// Ensure the admin API's enrolment: begin answers the secret, URL and QR
// code; a malformed code is a 400 naming code; confirming answers ten
// recovery codes, the status shows pending then enabled, and enrolling or
// confirming again is a 409.
func TestTOTPEnrolmentAdminAPI(t *testing.T) {
	f := setup(t)
	secret := f.beginTOTP(t)
	if st := f.Admin(t, "GET", f.totpPath(), nil).JSON(t); st["status"] != "pending" || f.twoFactorEnabled(t) {
		t.Fatalf("status %v", st)
	}
	for _, bad := range []any{"", "12345", "abcdef", 123456} {
		r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": bad})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "code") {
			t.Errorf("confirm with %v: %d %s", bad, r.Status, r.Body)
		}
	}
	r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": f.code(t, secret)})
	if r.Status != http.StatusOK || len(r.JSON(t)["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	st := f.Admin(t, "GET", f.totpPath(), nil).JSON(t)
	if st["status"] != "enabled" || st["recovery_codes_left"] != 10.0 || !f.twoFactorEnabled(t) {
		t.Fatalf("status %v", st)
	}
	if r := f.Admin(t, "POST", f.totpPath(), nil); r.Status != http.StatusConflict {
		t.Fatalf("enrolling again while on: %d %s", r.Status, r.Body)
	}
	if r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": "123456"}); r.Status != http.StatusConflict {
		t.Fatalf("confirming twice: %d %s", r.Status, r.Body)
	}
}

// Ensure accounts-v3 carries the second factor: without a code
// TWO_FACTOR_REQUIRED naming twoFactorCode, a spent or wrong code
// INVALID_TWO_FACTOR_CODE, a right twoFactorCode or twoFactorRecoveryCode
// a token whose amr says which.
func TestTOTPLogin(t *testing.T) {
	f := setupTOTP(t)
	m := wantError(t, f.login2FA(t, nil), http.StatusUnauthorized, "TWO_FACTOR_REQUIRED")
	if !strings.Contains(m["message"].(string), "twoFactorCode") {
		t.Fatalf("message %q does not name the field", m["message"])
	}
	// The code that confirmed enrolment is spent.
	wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	f.Advance(mfa.Period)
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)})); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr %v", got)
	}
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": f.recoveryCodes[0]})); !slices.Equal(got, []string{"pwd", "rc"}) {
		t.Fatalf("amr %v", got)
	}
	if left := f.Admin(t, "GET", f.totpPath(), nil).JSON(t)["recovery_codes_left"]; left != 9.0 {
		t.Fatalf("recovery_codes_left %v", left)
	}
	if r := f.Admin(t, "POST", f.totpPath()+"/recovery-codes", nil); r.Status != http.StatusOK || len(r.JSON(t)["recovery_codes"].([]any)) != 10 {
		t.Fatalf("regenerate: %d %s", r.Status, r.Body)
	}
}

// Ensure a second-factor lock-out is a 429 RATE_LIMITED with the lock-out
// in Retry-After.
func TestTwoFactorThrottle(t *testing.T) {
	f := setupTOTP(t)
	f.Advance(mfa.Period)
	for range 5 {
		wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": f.wrongCode(t, f.secret)}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	}
	r := f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)})
	wantError(t, r, http.StatusTooManyRequests, "RATE_LIMITED")
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 290 || ra > 300 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
}

// Ensure the admin API's disable: 204 (also when off), then the status
// and the recovery codes are 404, and the password alone logs in.
func TestTOTPDisable(t *testing.T) {
	f := setupTOTP(t)
	for range 2 {
		if r := f.Admin(t, "DELETE", f.totpPath(), nil); r.Status != http.StatusNoContent {
			t.Fatalf("disable: %d %s", r.Status, r.Body)
		}
	}
	if f.twoFactorEnabled(t) {
		t.Fatal("still enabled")
	}
	if got := f.amr(t, f.login2FA(t, nil)); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("amr %v", got)
	}
	if r := f.Admin(t, "GET", f.totpPath(), nil); r.Status != http.StatusNotFound {
		t.Fatalf("status after disable: %d", r.Status)
	}
	if r := f.Admin(t, "POST", f.totpPath()+"/recovery-codes", nil); r.Status != http.StatusNotFound {
		t.Fatalf("regenerate while off: %d", r.Status)
	}
	if r := f.Admin(t, "DELETE", "/admin/v1/tenants/"+f.tenant+"/users/"+f.tenant+"/totp", nil); r.Status != http.StatusNotFound {
		t.Fatalf("disable for an unknown user: %d", r.Status)
	}
}
