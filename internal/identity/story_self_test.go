package identity_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/ratelimit"
)

// Stories of self-service: a user with its own access token manages its
// second factor and sessions, with the same rules as logins and admins.

// mustSelf logs the story's user in from ip and authenticates its access
// token, returning the caller (and the context Self's use cases take).
func (s *story) mustSelf(t *testing.T, ip string) (context.Context, *identity.Caller, *identity.LoginResult) {
	t.Helper()
	res, err := s.Auth.Login(context.Background(), s.req(ip, pw))
	if err != nil {
		t.Fatal(err)
	}
	ctx, c, err := s.Self.Authenticate(context.Background(), res.AccessToken, identity.Client{Dialect: "self-service", IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, c, res
}

// Ensure only an access token of a live session authenticates: a missing,
// garbled or forged one, one past its expiry, one whose session was
// revoked or whose user was disabled, all get the one answer, which says
// nothing of which it was.
func TestSelfAuthenticate(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	_, _, res := s.mustSelf(t, "192.0.2.1")
	var answer string
	refused := func(what, tok string) {
		t.Helper()
		_, c, err := s.Self.Authenticate(ctx, tok, identity.Client{})
		e := identity.AsError(err)
		if answer == "" {
			answer = e.Message
		}
		if c != nil || e.Code != identity.ETOKENINVALID || e.Field != "authorization" || e.Message != answer {
			t.Fatalf("%s: %v %v", what, c, err)
		}
	}
	refused("missing", "")
	refused("garbled", "not.a.jwt")
	head, rest, _ := strings.Cut(res.AccessToken, ".")
	payload, sig, _ := strings.Cut(rest, ".")
	refused("forged", head+"."+payload+"."+strings.Repeat("A", len(sig)))
	refused("refresh", res.RefreshToken)

	s.clock.Advance(2 * time.Minute) // the story's access tokens live a minute
	refused("expired", res.AccessToken)

	_, c, res := s.mustSelf(t, "192.0.2.1")
	if c.Session.ID != res.Session.ID || c.User.ID != s.user.ID || c.Tenant.ID != s.tenant.ID {
		t.Fatalf("caller %+v", c)
	}
	if _, err := s.Admin.RevokeUserSessions(ctx, s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	refused("revoked", res.AccessToken)

	_, _, res = s.mustSelf(t, "192.0.2.1")
	disabled := identity.StatusDisabled
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Status: &disabled}); err != nil {
		t.Fatal(err)
	}
	refused("disabled", res.AccessToken)
}

// selfSecret reads the secret of the caller's pending enrolment, as its
// authenticator app would from the QR code.
func (s *story) selfSecret(t *testing.T, e *identity.TOTPEnrolment) string {
	t.Helper()
	if e.Secret == "" || !strings.HasPrefix(e.OTPAuthURL, "otpauth://totp/") || e.QRPNG == "" {
		t.Fatalf("enrolment %+v", e)
	}
	return e.Secret
}

// Ensure a user enrols its own authenticator app: pending until a code
// confirms it (the admin's enrolment, audited with the user as actor),
// mfa.enabled recorded; after that logins need a code, and the confirming
// code cannot log in (it counts as used).
func TestSelfEnrolTOTP(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx, c, _ := s.mustSelf(t, "192.0.2.1")
	e, err := s.Self.BeginTOTP(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	secret := s.selfSecret(t, e)
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("login while pending: %s", code)
	}
	if _, err := s.Self.ConfirmTOTP(ctx, c, "12345"); identity.AsError(err).Field != "code" {
		t.Fatalf("a malformed code: %v", err)
	}
	if _, err := s.Self.ConfirmTOTP(ctx, c, s.wrongCode(t, secret)); identity.ErrorCode(err) != identity.ETWOFACTORINVALID {
		t.Fatalf("a wrong code: %v", err)
	}
	confirming := s.code(t, secret, 0)
	codes, err := s.Self.ConfirmTOTP(ctx, c, confirming)
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("confirm: %v %v", codes, err)
	}
	if _, err := s.Self.ConfirmTOTP(ctx, c, s.code(t, secret, 0)); identity.ErrorCode(err) != identity.ECONFLICT {
		t.Fatalf("confirm again: %v", err)
	}
	wantCodes(t, "logins", []string{s.login(t, "192.0.2.1", pw), s.login2FA(t, "192.0.2.1", confirming)},
		"two_factor_required", "two_factor_invalid")
	evs := s.events(t, identity.EventMFAEnabled)
	if len(evs) != 1 || evs[0].UserID != s.user.ID || evs[0].Data["email"] != "ada@example.com" || evs[0].Data["actor"] != "user" ||
		evs[0].Data["via"] != identity.ViaSelfService {
		t.Fatalf("mfa.enabled events: %+v", evs)
	}
	if audit := s.events(t, "admin.totp.confirmed"); len(audit) != 1 || audit[0].Data["actor"] != "user" {
		t.Fatalf("audit: %+v", audit)
	}
}

// Ensure turning two-factor off and renewing recovery codes take a
// current code, checked as at login: a missing, wrong or replayed code
// changes nothing; a recovery code works once; mfa.disabled is recorded.
func TestSelfDisableTOTPNeedsACurrentCode(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	ctx, c, _ := s.mustSelfWith2FA(t, "192.0.2.1", secret)

	if err := s.Self.DisableTOTP(ctx, c, "", ""); identity.AsError(err).Field != "code" {
		t.Fatalf("no code: %v", err)
	}
	if err := s.Self.DisableTOTP(ctx, c, s.wrongCode(t, secret), ""); identity.ErrorCode(err) != identity.ETWOFACTORINVALID {
		t.Fatalf("wrong code: %v", err)
	}
	s.clock.Advance(30 * time.Second)
	now := s.code(t, secret, 0)
	codes, err := s.Self.RegenerateRecoveryCodes(ctx, c, now, "")
	if err != nil || len(codes) != mfa.RecoveryCodeCount {
		t.Fatalf("regenerate: %v %v", codes, err)
	}
	if err := s.Self.DisableTOTP(ctx, c, now, ""); identity.ErrorCode(err) != identity.ETWOFACTORINVALID {
		t.Fatalf("replayed code: %v", err)
	}
	if u, _ := s.db.GetUser(context.Background(), s.tenant.ID, s.user.ID); !u.TwoFactorEnabled {
		t.Fatal("two-factor went off without a good code")
	}
	if err := s.Self.DisableTOTP(ctx, c, "", codes[0]); err != nil {
		t.Fatalf("with a recovery code: %v", err)
	}
	if u, _ := s.db.GetUser(context.Background(), s.tenant.ID, s.user.ID); u.TwoFactorEnabled {
		t.Fatal("two-factor still on")
	}
	if evs := s.events(t, identity.EventMFADisabled); len(evs) != 1 || evs[0].Data["actor"] != "user" {
		t.Fatalf("mfa.disabled events: %+v", evs)
	}
	ctx, c, _ = s.mustSelf(t, "192.0.2.1")
	if _, err := s.Self.RegenerateRecoveryCodes(ctx, c, now, ""); identity.ErrorCode(err) != identity.ECONFLICT {
		t.Fatalf("regenerate with two-factor off: %v", err)
	}
}

// mustSelfWith2FA is mustSelf for a user with two-factor on.
func (s *story) mustSelfWith2FA(t *testing.T, ip, secret string) (context.Context, *identity.Caller, *identity.LoginResult) {
	t.Helper()
	r := s.req(ip, pw)
	r.TwoFactorCode = s.code(t, secret, 0)
	res, err := s.Auth.Login(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	ctx, c, err := s.Self.Authenticate(context.Background(), res.AccessToken, identity.Client{Dialect: "self-service", IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, c, res
}

// Ensure wrong codes on the self-service routes count against the same
// lock-out as at login: after five from one address the sixth attempt,
// even with the right code, is throttled, and account.locked is recorded.
func TestSelfCodesAreThrottled(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	ctx, c, _ := s.mustSelfWith2FA(t, "192.0.2.1", secret)
	s.clock.Advance(30 * time.Second)
	for range identity.SecondFactorFree {
		if err := s.Self.DisableTOTP(ctx, c, s.wrongCode(t, secret), ""); identity.ErrorCode(err) != identity.ETWOFACTORINVALID {
			t.Fatalf("wrong code: %v", err)
		}
	}
	err := s.Self.DisableTOTP(ctx, c, s.code(t, secret, 0), "")
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.RetryAfter <= 0 {
		t.Fatalf("sixth attempt: %v", err)
	}
	if len(s.events(t, identity.EventLocked)) == 0 {
		t.Fatal("no account.locked")
	}
	if code := s.login2FA(t, "192.0.2.1", s.code(t, secret, 0)); code != identity.ERATELIMITED {
		t.Fatalf("login from the same address during the lock-out: %s", code)
	}
	s.clock.Advance(identity.SecondFactorLockout)
	if err := s.Self.DisableTOTP(ctx, c, s.code(t, secret, 0), ""); err != nil {
		t.Fatalf("after the lock-out: %v", err)
	}
}

// Ensure a user sees its live sessions, its current one marked by the
// caller, and ends one: only its own (another user's session id is
// ENOTFOUND, like an unknown one), with session.revoked recorded in the
// revocation; the ended session's refresh token stops working.
func TestSelfSessions(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	bg := context.Background()
	_, _, other := s.mustSelf(t, "192.0.2.2")
	ctx, c, _ := s.mustSelf(t, "192.0.2.1")
	_, _, gone := s.mustSelf(t, "192.0.2.3")
	if err := s.Auth.Logout(bg, gone.RefreshToken, identity.Client{}); err != nil {
		t.Fatal(err)
	}
	list, err := s.Self.ListSessions(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	wantCodes(t, "live sessions, newest first", ids, c.Session.ID, other.Session.ID)

	email, p := "bob@example.com", pw
	if _, err := s.Admin.CreateUser(bg, s.tenant.ID, identity.UserInput{Email: &email, Password: &p}); err != nil {
		t.Fatal(err)
	}
	bobs, err := s.Auth.Login(bg, identity.LoginRequest{TenantID: s.tenant.ID, Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	for what, sid := range map[string]string{"another user's": bobs.Session.ID, "unknown": identity.NewID(), "not an id": "x'; --"} {
		err := s.Self.RevokeSession(ctx, c, sid)
		if e := identity.AsError(err); e.Code != identity.ENOTFOUND || e.Message != "session not found" {
			t.Errorf("%s session: %v", what, err)
		}
	}
	if _, err := s.Auth.Refresh(bg, bobs.RefreshToken, identity.Client{}); err != nil {
		t.Fatalf("bob's session was touched: %v", err)
	}

	if err := s.Self.RevokeSession(ctx, c, other.Session.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Self.RevokeSession(ctx, c, other.Session.ID); err != nil {
		t.Fatalf("again: %v", err)
	}
	if _, err := s.Auth.Refresh(bg, other.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("the revoked session's refresh token: %v", err)
	}
	evs := s.events(t, identity.EventSessionRevoked)
	if len(evs) != 1 || evs[0].SessionID != other.Session.ID || evs[0].Data["actor"] != "user" || evs[0].Data["email"] != "ada@example.com" {
		t.Fatalf("session.revoked events: %+v", evs)
	}
	if list, _ := s.Self.ListSessions(ctx, c); len(list) != 1 || list[0].ID != c.Session.ID {
		t.Fatalf("after: %+v", list)
	}
}

// Ensure the admin writes record the lifecycle events: user.created,
// user.updated (naming the fields, never their values) and
// password.changed for a new password, session.revoked (per session, or
// once for all), user.deleted with the email the user had.
func TestLifecycleEvents(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	newPW, name := "another horse battery", "Ada"
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{FirstName: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Password: &newPW}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{FirstName: &name}); err != nil {
		t.Fatal(err) // changes nothing: no event
	}
	one, err := s.Auth.Login(ctx, s.req("192.0.2.1", newPW))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.Login(ctx, s.req("192.0.2.1", newPW)); err != nil {
		t.Fatal(err)
	}
	if err := s.Admin.RevokeSession(ctx, s.tenant.ID, s.user.ID, one.Session.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Admin.RevokeUserSessions(ctx, s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Admin.DeleteUser(ctx, s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.db.ListEvents(ctx, s.tenant.ID, identity.EventFilter{UserID: s.user.ID}, identity.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range slices.Backward(evs) {
		if identity.IsLifecycleEvent(e.Type) {
			types = append(types, e.Type)
			if e.Data["email"] != "ada@example.com" || e.Data["actor"] != "admin" || e.CreatedAt.IsZero() {
				t.Errorf("%s: %+v", e.Type, e)
			}
			if _, ok := e.Data["password"]; ok {
				t.Errorf("%s carries a password", e.Type)
			}
		}
		switch e.Type {
		case identity.EventUserUpdated:
			if fields := e.Data["fields"]; !slices.Equal(fields.([]any), []any{"first_name"}) && !slices.Equal(fields.([]any), []any{"password"}) {
				t.Errorf("user.updated fields: %v", fields)
			}
		case identity.EventSessionRevoked:
			if e.SessionID != one.Session.ID && e.Data["scope"] != "all" {
				t.Errorf("session.revoked: %+v", e)
			}
		}
	}
	wantCodes(t, "lifecycle events", types, identity.EventUserCreated, identity.EventUserUpdated, identity.EventUserUpdated,
		identity.EventPasswordChanged, identity.EventSessionRevoked, identity.EventSessionRevoked, identity.EventUserDeleted)
}
