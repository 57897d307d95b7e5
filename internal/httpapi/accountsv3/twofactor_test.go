package accountsv3_test

import (
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// eventsOf returns the data of the user's events of type typ, oldest first.
func (f *fixture) eventsOf(t *testing.T, typ string) []map[string]any {
	t.Helper()
	r := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/events?limit=500&type="+typ+"&user_id="+f.user, nil)
	var out []map[string]any
	for _, e := range r.JSON(t)["events"].([]any) {
		out = append(out, e.(map[string]any)["data"].(map[string]any))
	}
	slices.Reverse(out)
	return out
}

func (f *fixture) failureReasons(t *testing.T) []string {
	var out []string
	for _, d := range f.eventsOf(t, "account.login-failed") {
		out = append(out, d["reason"].(string))
	}
	return out
}

// Ensure enrolment stays pending (logins need no code) until a correct
// code confirms it, and that confirming turns two-factor on.
func TestTOTPEnrolmentPendingUntilConfirmed(t *testing.T) {
	f := setup(t)
	secret := f.beginTOTP(t)
	if f.twoFactorEnabled(t) {
		t.Fatal("two_factor_enabled while pending")
	}
	if got := f.amr(t, f.login2FA(t, nil)); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("pending enrolment: amr %v", got)
	}
	if st := f.Admin(t, "GET", f.totpPath(), nil).JSON(t); st["status"] != "pending" {
		t.Fatalf("status %v", st)
	}
	// Restarting replaces the pending secret.
	secret2 := f.beginTOTP(t)
	if secret2 == secret {
		t.Fatal("restart kept the secret")
	}
	for _, bad := range []any{"", "12345", "abcdef", 123456} {
		r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": bad})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "code") {
			t.Errorf("confirm with %v: %d %s", bad, r.Status, r.Body)
		}
	}
	wrong := f.code(t, secret) // the replaced secret's code
	if r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": wrong}); r.Status != http.StatusBadRequest {
		t.Fatalf("confirm with the old secret's code: %d %s", r.Status, r.Body)
	}
	r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": f.code(t, secret2)})
	if r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Body)
	}
	codes := r.JSON(t)["recovery_codes"].([]any)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes", len(codes))
	}
	if !f.twoFactorEnabled(t) {
		t.Fatal("two_factor_enabled false after confirm")
	}
	st := f.Admin(t, "GET", f.totpPath(), nil).JSON(t)
	if st["status"] != "enabled" || st["recovery_codes_left"] != 10.0 {
		t.Fatalf("status %v", st)
	}
	if r := f.Admin(t, "POST", f.totpPath(), nil); r.Status != http.StatusConflict {
		t.Fatalf("enrolling again while on: %d %s", r.Status, r.Body)
	}
	if r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": "123456"}); r.Status != http.StatusConflict {
		t.Fatalf("confirming twice: %d %s", r.Status, r.Body)
	}
}

// Ensure a user with two-factor on needs a code, a right code works once,
// the confirming code counts as used, and amr says how the user signed in.
func TestTOTPLogin(t *testing.T) {
	f := setupTOTP(t)
	r := f.login2FA(t, nil)
	if m := wantError(t, r, http.StatusUnauthorized, "TWO_FACTOR_REQUIRED"); !strings.Contains(m["message"].(string), "twoFactorCode") {
		t.Fatalf("message %q does not name the field", m["message"])
	}
	// A wrong password is a wrong password, code or not.
	r = f.login(t, map[string]any{"accountId": f.tenant, "email": "ada@example.com", "password": "wrong password!", "twoFactorCode": f.code(t, f.secret)})
	wantError(t, r, http.StatusUnauthorized, "INVALID_CREDENTIALS")
	// The code that confirmed enrolment is spent.
	wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")

	f.Advance(mfa.Period)
	code := f.code(t, f.secret)
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorCode": code})); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr %v", got)
	}
	// Replay in the same window.
	wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": code}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	// A code from the previous step is older than the one accepted: refused.
	prev, _ := mfa.CodeAt(f.secret, mfa.Step(f.Now())-1, mfa.Digits)
	wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": prev}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": f.wrongCode(t, f.secret)}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")

	want := []string{"second_factor_required", "password", "second_factor_replayed", "second_factor_replayed", "second_factor_replayed", "second_factor_invalid"}
	if got := f.failureReasons(t); !slices.Equal(got, want) {
		t.Fatalf("failure reasons %v", got)
	}
}

// Ensure of concurrent logins carrying one valid code exactly one wins.
func TestTOTPConcurrentReplay(t *testing.T) {
	f := setupTOTP(t)
	f.Advance(mfa.Period)
	code := f.code(t, f.secret)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			switch r := f.login2FA(t, map[string]any{"twoFactorCode": code}); r.Status {
			case http.StatusOK:
				ok.Add(1)
			case http.StatusUnauthorized:
				refused.Add(1)
			default:
				t.Errorf("status %d %s", r.Status, r.Body)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 3 {
		t.Fatalf("%d accepted, %d refused; want 1 and 3", ok.Load(), refused.Load())
	}
}

// Ensure each recovery code works once, and regenerating replaces them.
func TestRecoveryCodeLogin(t *testing.T) {
	f := setupTOTP(t)
	rc := f.recoveryCodes[0]
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": strings.ToUpper(rc)})); !slices.Equal(got, []string{"pwd", "rc"}) {
		t.Fatalf("amr %v", got)
	}
	wantError(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": rc}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	if left := f.Admin(t, "GET", f.totpPath(), nil).JSON(t)["recovery_codes_left"]; left != 9.0 {
		t.Fatalf("recovery_codes_left %v", left)
	}
	r := f.Admin(t, "POST", f.totpPath()+"/recovery-codes", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("regenerate: %d %s", r.Status, r.Body)
	}
	fresh := r.JSON(t)["recovery_codes"].([]any)
	wantError(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": f.recoveryCodes[1]}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": fresh[0]})); !slices.Equal(got, []string{"pwd", "rc"}) {
		t.Fatalf("amr %v", got)
	}
}

// Ensure wrong codes are throttled: five attempts per five minutes, then
// 429 with Retry-After even for the right code, one account.locked event,
// and the window reopens by itself (no permanent lockout).
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
	wantError(t, f.login2FA(t, map[string]any{"twoFactorRecoveryCode": f.recoveryCodes[0]}), http.StatusTooManyRequests, "RATE_LIMITED")
	locked := f.eventsOf(t, "account.locked")
	if len(locked) != 1 || locked[0]["reason"] != "second_factor" {
		t.Fatalf("account.locked events %v", locked)
	}
	reasons := f.failureReasons(t)
	if reasons[len(reasons)-1] != "throttled" {
		t.Fatalf("reasons %v", reasons)
	}

	f.Advance(5*time.Minute + time.Second)
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)})); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr %v", got)
	}
	// A success forgets the count: five more attempts are allowed.
	f.Advance(mfa.Period)
	for range 4 {
		wantError(t, f.login2FA(t, map[string]any{"twoFactorCode": f.wrongCode(t, f.secret)}), http.StatusUnauthorized, "INVALID_TWO_FACTOR_CODE")
	}
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorCode": f.code(t, f.secret)})); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr %v", got)
	}
}

// Ensure turning two-factor off lets the password alone in again.
func TestTOTPDisable(t *testing.T) {
	f := setupTOTP(t)
	if r := f.Admin(t, "DELETE", f.totpPath(), nil); r.Status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if f.twoFactorEnabled(t) {
		t.Fatal("still enabled")
	}
	if got := f.amr(t, f.login2FA(t, nil)); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("amr %v", got)
	}
	if r := f.Admin(t, "DELETE", f.totpPath(), nil); r.Status != http.StatusNoContent {
		t.Fatalf("disable twice: %d", r.Status)
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

// Ensure no event or log-visible field carries a code or the secret.
func TestTwoFactorEventsCarryNoSecrets(t *testing.T) {
	f := setupTOTP(t)
	f.Advance(mfa.Period)
	code, wrong := f.code(t, f.secret), f.wrongCode(t, f.secret)
	f.login2FA(t, map[string]any{"twoFactorCode": wrong})
	f.login2FA(t, map[string]any{"twoFactorRecoveryCode": "zzzz-zzzz-zzzz-zzzz"})
	f.login2FA(t, map[string]any{"twoFactorCode": code})
	r := f.Admin(t, "GET", "/admin/v1/tenants/"+f.tenant+"/events?limit=500", nil)
	body := string(r.Body)
	for _, s := range []string{f.secret, code, wrong, "zzzz", f.recoveryCodes[0], pw} {
		if strings.Contains(body, s) {
			t.Fatalf("events contain %q: %s", s, body)
		}
	}
}

// Ensure a code from oathtool, an independent TOTP implementation, is
// accepted both to confirm enrolment and to log in.
func TestOathtoolCodeAccepted(t *testing.T) {
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool not installed (Debian package oathtool; .ci/run installs it)")
	}
	f := setup(t)
	secret := f.beginTOTP(t)
	oath := func() string {
		t.Helper()
		out, err := exec.Command(bin, "--totp", "-b", "--now", f.Now().UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
		if err != nil {
			t.Fatalf("oathtool: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if r := f.Admin(t, "POST", f.totpPath()+"/confirm", map[string]any{"code": oath()}); r.Status != http.StatusOK {
		t.Fatalf("confirm with oathtool's code: %d %s", r.Status, r.Body)
	}
	f.Advance(mfa.Period)
	if got := f.amr(t, f.login2FA(t, map[string]any{"twoFactorCode": oath()})); !slices.Equal(got, []string{"pwd", "otp"}) {
		t.Fatalf("amr %v", got)
	}
}
