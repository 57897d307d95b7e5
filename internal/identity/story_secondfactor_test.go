package identity_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/ratelimit"
)

// Stories of the second factor: enrolment, codes once each, recovery
// codes, the lock-out's end, turning it off, and what events may carry.

// amrOf logs in from ip with a TOTP code or recovery code set by mut and
// returns the session's amr, or the error code.
func (s *story) amrOf(t *testing.T, ip string, mut func(r *identity.LoginRequest)) ([]string, string) {
	t.Helper()
	r := s.req(ip, pw)
	mut(&r)
	res, err := s.Auth.Login(context.Background(), r)
	if err != nil {
		return nil, identity.ErrorCode(err)
	}
	return res.Session.AMR, ""
}

func (s *story) failureReasons(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, e := range s.events(t, identity.EventLoginFailed) {
		out = append(out, e.Data["reason"].(string))
	}
	slices.Reverse(out) // oldest first
	return out
}

// Ensure an enrolment stays pending (logins need no code) until a correct
// code confirms it; restarting replaces the secret (the old one's codes no
// longer confirm); the secret is sealed at rest; confirming yields ten
// recovery codes and turns two-factor on, after which enrolling or
// confirming again is a conflict.
func TestTOTPEnrolment(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	first, err := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if amr, code := s.amrOf(t, "192.0.2.1", func(*identity.LoginRequest) {}); code != "" || !slices.Equal(amr, []string{identity.AMRPassword}) {
		t.Fatalf("login while pending: %v %s", amr, code)
	}
	second, err := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID)
	if err != nil || second.Secret == first.Secret || second.OTPAuthURL == "" || second.QRPNG == "" {
		t.Fatalf("restart: %+v %v", second, err)
	}
	stored, _ := s.db.GetTOTP(ctx, s.tenant.ID, s.user.ID)
	if bytes.Contains(stored.SecretSealed, []byte(second.Secret)) {
		t.Fatal("the secret is stored in the clear")
	}
	for _, bad := range []string{"", "12345", "abcdef", "1234567"} {
		if _, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, bad); identity.AsError(err).Field != "code" {
			t.Errorf("confirm with %q: %v", bad, err)
		}
	}
	if _, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, s.code(t, first.Secret, 0)); identity.AsError(err).Field != "code" {
		t.Fatalf("the replaced secret's code: %v", err)
	}
	codes, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, s.code(t, second.Secret, 0))
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("confirm: %d codes, %v", len(codes), err)
	}
	if u, _ := s.db.GetUser(ctx, s.tenant.ID, s.user.ID); !u.TwoFactorEnabled {
		t.Fatal("two-factor is not on after the confirmation")
	}
	if st, err := s.SecondFactor.TOTPStatus(ctx, s.tenant.ID, s.user.ID); err != nil || !st.Confirmed() || st.RecoveryLeft != mfa.RecoveryCodeCount {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID); identity.ErrorCode(err) != identity.ECONFLICT {
		t.Fatalf("enrolling again while on: %v", err)
	}
	if _, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, "123456"); identity.ErrorCode(err) != identity.ECONFLICT {
		t.Fatalf("confirming twice: %v", err)
	}
	if evs := s.events(t, "admin.totp.confirmed"); len(evs) != 1 {
		t.Fatalf("%d admin.totp.confirmed events", len(evs))
	}
}

// Ensure a user with two-factor on needs a code; a wrong password is a
// wrong password whatever the code; the code that confirmed enrolment is
// spent; a right code works once and says so in amr; a code of an older
// step than the last accepted one is refused; each failure is recorded
// with its reason.
func TestTOTPLogin(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	enrol, err := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, s.code(t, enrol.Secret, 0)); err != nil {
		t.Fatal(err)
	}
	withCode := func(c string) func(r *identity.LoginRequest) {
		return func(r *identity.LoginRequest) { r.TwoFactorCode = c }
	}
	var got []string
	_, code := s.amrOf(t, "192.0.2.1", func(*identity.LoginRequest) {})
	got = append(got, code)
	_, code = s.amrOf(t, "192.0.2.1", func(r *identity.LoginRequest) {
		r.Password, r.TwoFactorCode = "wrong password!", s.code(t, enrol.Secret, 0)
	})
	got = append(got, code)
	_, code = s.amrOf(t, "192.0.2.1", withCode(s.code(t, enrol.Secret, 0))) // the confirming code
	got = append(got, code)
	wantCodes(t, "before a fresh code", got, identity.ETWOFACTORREQUIRED, identity.EUNAUTHENTICATED, identity.ETWOFACTORINVALID)

	s.clock.Advance(mfa.Period)
	fresh := s.code(t, enrol.Secret, 0)
	if amr, code := s.amrOf(t, "192.0.2.1", withCode(fresh)); code != "" || !slices.Equal(amr, []string{identity.AMRPassword, identity.AMROneTimeCode}) {
		t.Fatalf("a fresh code: %v %s", amr, code)
	}
	got = nil
	for _, c := range []string{fresh, s.code(t, enrol.Secret, -1), s.wrongCode(t, enrol.Secret)} {
		_, code := s.amrOf(t, "192.0.2.1", withCode(c))
		got = append(got, code)
	}
	wantCodes(t, "replay, an older step, a wrong code", got, identity.ETWOFACTORINVALID, identity.ETWOFACTORINVALID, identity.ETWOFACTORINVALID)
	wantCodes(t, "failure reasons", s.failureReasons(t), "second_factor_required", "password", "second_factor_replayed",
		"second_factor_replayed", "second_factor_replayed", "second_factor_invalid")
}

// Ensure of concurrent logins carrying one valid code exactly one wins.
func TestTOTPConcurrentReplay(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	c := s.code(t, secret, 0)
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			switch code := s.login2FA(t, "192.0.2.1", c); code {
			case "":
				ok.Add(1)
			case identity.ETWOFACTORINVALID:
				refused.Add(1)
			default:
				t.Errorf("code %s", code)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 1 || refused.Load() != 3 {
		t.Fatalf("%d accepted, %d refused; want 1 and 3", ok.Load(), refused.Load())
	}
}

// Ensure each recovery code works once (typed in any case), says so in
// amr, and that regenerating replaces them all.
func TestRecoveryCodes(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	enrol, _ := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID)
	codes, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, s.code(t, enrol.Secret, 0))
	if err != nil {
		t.Fatal(err)
	}
	withRC := func(c string) func(r *identity.LoginRequest) {
		return func(r *identity.LoginRequest) { r.TwoFactorRecoveryCode = c }
	}
	if amr, code := s.amrOf(t, "192.0.2.1", withRC(strings.ToUpper(codes[0]))); code != "" || !slices.Equal(amr, []string{identity.AMRPassword, identity.AMRRecoveryCode}) {
		t.Fatalf("a recovery code: %v %s", amr, code)
	}
	if _, code := s.amrOf(t, "192.0.2.1", withRC(codes[0])); code != identity.ETWOFACTORINVALID {
		t.Fatalf("the same code again: %s", code)
	}
	if st, _ := s.SecondFactor.TOTPStatus(ctx, s.tenant.ID, s.user.ID); st.RecoveryLeft != mfa.RecoveryCodeCount-1 {
		t.Fatalf("%d codes left", st.RecoveryLeft)
	}
	fresh, err := s.SecondFactor.RegenerateRecoveryCodes(ctx, s.tenant.ID, s.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, code := s.amrOf(t, "192.0.2.1", withRC(codes[1])); code != identity.ETWOFACTORINVALID {
		t.Fatalf("an old code after regenerating: %s", code)
	}
	if _, code := s.amrOf(t, "192.0.2.1", withRC(fresh[0])); code != "" {
		t.Fatalf("a new code: %s", code)
	}
}

// Ensure a second-factor lock-out ends by itself (no permanent lockout),
// that recovery codes are locked out with TOTP codes, that the refusal
// is recorded as throttled, and that a success forgets the address's
// count.
func TestSecondFactorLockoutEnds(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	bad := s.wrongCode(t, secret)
	for range identity.SecondFactorFree {
		s.login2FA(t, "192.0.2.1", bad)
	}
	if _, code := s.amrOf(t, "192.0.2.1", func(r *identity.LoginRequest) { r.TwoFactorRecoveryCode = "zzzz-zzzz-zzzz-zzzz" }); code != identity.ERATELIMITED {
		t.Fatalf("a recovery code while locked out: %s", code)
	}
	if r := s.failureReasons(t); r[len(r)-1] != "throttled" {
		t.Fatalf("reasons %v", r)
	}
	s.clock.Advance(identity.SecondFactorLockout)
	if code := s.login2FA(t, "192.0.2.1", s.code(t, secret, 0)); code != "" {
		t.Fatalf("after the lock-out: %s", code)
	}
	s.clock.Advance(mfa.Period)
	bad = s.wrongCode(t, secret)
	for range identity.SecondFactorFree - 1 {
		if code := s.login2FA(t, "192.0.2.1", bad); code != identity.ETWOFACTORINVALID {
			t.Fatalf("a success did not forget the count: %s", code)
		}
	}
	if code := s.login2FA(t, "192.0.2.1", s.code(t, secret, 0)); code != "" {
		t.Fatal(code)
	}
}

// Ensure turning two-factor off lets the password alone in again, is not
// an error when it is off already, and leaves nothing to regenerate.
func TestTOTPDisable(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	s.mustTOTP(t)
	for range 2 {
		if err := s.SecondFactor.DisableTOTP(ctx, s.tenant.ID, s.user.ID); err != nil {
			t.Fatal(err)
		}
	}
	if amr, code := s.amrOf(t, "192.0.2.1", func(*identity.LoginRequest) {}); code != "" || !slices.Equal(amr, []string{identity.AMRPassword}) {
		t.Fatalf("after disabling: %v %s", amr, code)
	}
	if _, err := s.SecondFactor.TOTPStatus(ctx, s.tenant.ID, s.user.ID); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("status: %v", err)
	}
	if _, err := s.SecondFactor.RegenerateRecoveryCodes(ctx, s.tenant.ID, s.user.ID); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("regenerate while off: %v", err)
	}
	if err := s.SecondFactor.DisableTOTP(ctx, s.tenant.ID, s.tenant.ID); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("an unknown user: %v", err)
	}
}

// Ensure no event carries a code, a recovery code, the secret or the
// password.
func TestSecondFactorEventsCarryNoSecrets(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	enrol, _ := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID)
	confirming := s.code(t, enrol.Secret, 0)
	codes, _ := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, confirming)
	s.clock.Advance(mfa.Period)
	good, bad := s.code(t, enrol.Secret, 0), s.wrongCode(t, enrol.Secret)
	s.login2FA(t, "192.0.2.1", bad)
	s.amrOf(t, "192.0.2.1", func(r *identity.LoginRequest) { r.TwoFactorRecoveryCode = "zzzz-zzzz-zzzz-zzzz" })
	s.login2FA(t, "192.0.2.1", good)
	evs, _, err := s.db.ListEvents(ctx, s.tenant.ID, identity.EventFilter{}, identity.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&all, "%+v\n", *e)
	}
	for _, secret := range []string{enrol.Secret, confirming, good, bad, "zzzz", codes[0], pw} {
		if strings.Contains(all.String(), secret) {
			t.Fatalf("an event carries %q", secret)
		}
	}
	if !strings.Contains(all.String(), "second_factor_invalid") {
		t.Fatal("the events were not read")
	}
}
