package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/ratelimit"
)

// Stories of tokens and sessions (rotation, grace, reuse, expiry, what
// ends a session, re-authentication) and of credentials (the one answer
// to every credential failure, rehash of imported hashes, overload).

// mustLogin logs the story's user in from ip.
func (s *story) mustLogin(tb testing.TB, ip string) *identity.LoginResult {
	tb.Helper()
	res, err := s.Auth.Login(context.Background(), s.req(ip, pw))
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

func (s *story) refresh(tok string) (*identity.LoginResult, string) {
	res, err := s.Auth.Refresh(context.Background(), tok, identity.Client{IP: "192.0.2.1"})
	return res, identity.ErrorCode(err)
}

// Ensure concurrent refreshes with one token all succeed with the same
// successor (one rotates, the others are answered from the grace window),
// each with an access token of its own.
func TestConcurrentRefreshesShareSuccessor(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	first := s.mustLogin(t, "192.0.2.1")
	const n = 12
	got := make([]*identity.LoginResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := s.Auth.Refresh(context.Background(), first.RefreshToken, identity.Client{})
			if err != nil {
				t.Errorf("refresh %d: %v", i, err)
			}
			got[i] = res
		})
	}
	wg.Wait()
	rotated := 0
	for i, res := range got {
		if res == nil {
			t.FailNow()
		}
		if res.RefreshToken != got[0].RefreshToken || res.AccessToken == "" {
			t.Fatalf("refresh %d: successor %q, want %q", i, res.RefreshToken, got[0].RefreshToken)
		}
		if !res.Grace {
			rotated++
		}
	}
	if rotated != 1 {
		t.Fatalf("%d refreshes rotated, want 1", rotated)
	}
	if _, code := s.refresh(got[0].RefreshToken); code != "" {
		t.Fatalf("the successor: %s", code)
	}
}

// Ensure a token two generations back is reuse even inside the grace
// window, and that reuse revokes the session with its reason.
func TestReuseOfAnOlderToken(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	t0 := s.mustLogin(t, "192.0.2.1").RefreshToken
	r1, _ := s.refresh(t0)
	s.refresh(r1.RefreshToken)
	if _, code := s.refresh(t0); code != identity.ETOKENREUSED {
		t.Fatalf("two generations back: %s", code)
	}
	sessions, _, _ := s.db.ListUserSessions(context.Background(), s.tenant.ID, s.user.ID, identity.Page{})
	if len(sessions) != 1 || !sessions[0].Revoked() || sessions[0].RevokeReason != "refresh token reused" {
		t.Fatalf("session after reuse: %+v", sessions[0])
	}
}

// Ensure garbage, a token of another kind and a forged generation are
// ETOKENINVALID, and move nothing.
func TestRefreshTokenInvalid(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	res := s.mustLogin(t, "192.0.2.1")
	forged := strings.Replace(res.RefreshToken, "lrt1.", "lst1.", 1)
	for _, tok := range []string{"", "garbage", "lrt1.AAAA.BBBB", forged} {
		if _, code := s.refresh(tok); code != identity.ETOKENINVALID {
			t.Errorf("%q: %s", tok, code)
		}
	}
	if _, code := s.refresh(res.RefreshToken); code != "" {
		t.Fatalf("the real token after the garbage: %s", code)
	}
}

// Ensure disabling the user, changing its password, deleting it or its
// tenant, and an admin's revocation each end the user's sessions.
func TestWhatEndsSessions(t *testing.T) {
	ctx := context.Background()
	for name, end := range map[string]func(s *story) error{
		"disabled": func(s *story) error {
			off := identity.StatusDisabled
			_, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Status: &off})
			return err
		},
		"new password": func(s *story) error {
			p := "another long password"
			_, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Password: &p})
			return err
		},
		"user deleted":     func(s *story) error { return s.Admin.DeleteUser(ctx, s.tenant.ID, s.user.ID) },
		"tenant deleted":   func(s *story) error { return s.Admin.DeleteTenant(ctx, s.tenant.ID) },
		"revoked by admin": func(s *story) error { _, err := s.Admin.RevokeUserSessions(ctx, s.tenant.ID, s.user.ID); return err },
	} {
		t.Run(name, func(t *testing.T) {
			s := MustStory(t, ratelimit.Limit{})
			res := s.mustLogin(t, "192.0.2.1")
			if err := end(s); err != nil {
				t.Fatal(err)
			}
			if _, code := s.refresh(res.RefreshToken); code != identity.ETOKENINVALID {
				t.Fatalf("refresh: %s", code)
			}
		})
	}
}

// Ensure a tenant's session settings override the deployment's: a
// shorter lifetime ends the session sooner.
func TestTenantSessionSettings(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	st := identity.TenantSettings{SessionLifetimeSeconds: 3600}
	if _, err := s.Admin.UpdateTenant(context.Background(), s.tenant.ID, identity.TenantInput{Settings: &st}); err != nil {
		t.Fatal(err)
	}
	res := s.mustLogin(t, "192.0.2.1")
	s.clock.Advance(time.Hour)
	if _, code := s.refresh(res.RefreshToken); code != identity.ETOKENINVALID {
		t.Fatalf("after the tenant's hour: %s", code)
	}
}

// Ensure a dialect whose routes name the tenant refuses a token of
// another tenant, without moving it.
func TestRefreshInAnotherTenant(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	name := "Other"
	other, err := s.Admin.CreateTenant(ctx, identity.TenantInput{Name: &name})
	if err != nil {
		t.Fatal(err)
	}
	res := s.mustLogin(t, "192.0.2.1")
	if _, err := s.Auth.RefreshIn(ctx, other.ID, res.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("another tenant's token: %v", err)
	}
	if err := s.Auth.LogoutIn(ctx, other.ID, res.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("logout in another tenant: %v", err)
	}
	next, err := s.Auth.RefreshIn(ctx, s.tenant.ID, res.RefreshToken, identity.Client{})
	if err != nil || next.Grace {
		t.Fatalf("in its own tenant, still unrotated: %+v %v", next, err)
	}
}

// Ensure refreshes are limited per session at the address limit's rate,
// whatever address they come from, and that each is counted against the
// caller's own address too.
func TestRefreshLimitedPerSession(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	s.Auth.Config.IPLimit = ratelimit.Limit{Count: 3, Period: time.Minute}
	tok := s.mustLogin(t, "192.0.2.1").RefreshToken
	ctx := context.Background()
	for i := range 3 {
		c := identity.Client{IP: "192.0.2.1", Quota: &identity.Quota{}}
		if err := s.Auth.AdmitIP(ctx, "refresh", c); err != nil {
			t.Fatal(err)
		}
		res, err := s.Auth.Refresh(ctx, tok, c)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		if c.Quota.Remaining != 2-i {
			t.Fatalf("refresh %d: quota %+v", i, c.Quota)
		}
		tok = res.RefreshToken
	}
	_, err := s.Auth.Refresh(ctx, tok, identity.Client{IP: "198.51.100.9"})
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.Field != "session" || e.RetryAfter <= 0 {
		t.Fatalf("a fourth refresh from another address: %v", err)
	}
	s.clock.Advance(20 * time.Second)
	if _, err := s.Auth.Refresh(ctx, tok, identity.Client{IP: "198.51.100.9"}); err != nil {
		t.Fatalf("once the session's allowance is back: %v", err)
	}
}

// Ensure the address limit counts every request to a login route per
// address (IPv6 by /64), refuses past it with the wait, and refills on
// the clock.
func TestAddressLimit(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	s.Auth.Config.IPLimit = ratelimit.Limit{Count: 2, Period: time.Minute}
	ctx := context.Background()
	admit := func(ip string) error { return s.Auth.AdmitIP(ctx, "login", identity.Client{IP: ip}) }
	if err := errors.Join(admit("2001:db8:1:2::1"), admit("2001:db8:1:2::2")); err != nil {
		t.Fatal(err)
	}
	err := admit("2001:db8:1:2::3")
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.Field != "ip" || e.RetryAfter != 30*time.Second {
		t.Fatalf("the third from one /64: %v (%v)", err, e.RetryAfter)
	}
	if err := admit("2001:db8:1:3::1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
	if err := s.Auth.AdmitIP(ctx, "refresh", identity.Client{IP: "2001:db8:1:2::1"}); err != nil {
		t.Fatalf("refresh has its own bucket: %v", err)
	}
	s.clock.Advance(30 * time.Second)
	if err := admit("2001:db8:1:2::1"); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

// Ensure a tenant's rate limits override the deployment's: its account
// limit replaces the ceiling, its address limit counts its logins, and a
// limit that does not parse is refused naming the setting.
func TestTenantRateLimits(t *testing.T) {
	ctx := context.Background()
	setLimits := func(s *story, st identity.TenantSettings) error {
		_, err := s.Admin.UpdateTenant(ctx, s.tenant.ID, identity.TenantInput{Settings: &st})
		return err
	}
	s := MustStory(t, ratelimit.Limit{Count: 100, Period: time.Minute})
	if err := setLimits(s, identity.TenantSettings{RateLimitAccount: "1/h"}); err != nil {
		t.Fatal(err)
	}
	s.login(t, "203.0.113.1", "wrong password")
	if code := s.login(t, "203.0.113.2", pw); code != identity.ERATELIMITED {
		t.Fatalf("a stranger after the tenant's one failure an hour: %s", code)
	}
	if err := setLimits(s, identity.TenantSettings{RateLimitAccount: "lots"}); identity.AsError(err).Field != "settings.rate_limit_account" {
		t.Fatalf("a bad limit: %v", err)
	}

	s = MustStory(t, ratelimit.Limit{})
	if err := setLimits(s, identity.TenantSettings{RateLimitIP: "2/m"}); err != nil {
		t.Fatal(err)
	}
	wantCodes(t, "logins from one address", []string{s.login(t, "198.51.100.1", pw), s.login(t, "198.51.100.1", pw)}, "", "")
	_, err := s.Auth.Login(ctx, s.req("198.51.100.1", pw))
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.Field != "tenant_ip" {
		t.Fatalf("a third login a minute from one address: %v", err)
	}
}

// Ensure an unknown account is throttled exactly like a known one: five
// failures in a row from one address, then a delay.
func TestUnknownAccountThrottledAlike(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	try := func(email string) string {
		r := s.req("192.0.2.9", "wrong password")
		r.Email = email
		_, err := s.Auth.Login(context.Background(), r)
		return identity.ErrorCode(err)
	}
	for _, email := range []string{"ada@example.com", "ghost@example.com"} {
		var got []string
		for range identity.FreeFailures + 1 {
			got = append(got, try(email))
		}
		wantCodes(t, email, got, "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "rate_limited")
	}
}

// brokenLimiter answers every question with an error.
type brokenLimiter struct{}

var errDown = errors.New("limiter down")

func (brokenLimiter) Allow(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
func (brokenLimiter) Peek(context.Context, string, ratelimit.Limit) (ratelimit.Result, error) {
	return ratelimit.Result{}, errDown
}
func (brokenLimiter) Fail(context.Context, string, time.Duration) (int, error) { return 0, errDown }
func (brokenLimiter) Failures(context.Context, string) (int, time.Time, error) {
	return 0, time.Time{}, errDown
}
func (brokenLimiter) Reset(context.Context, string) error { return errDown }

// Ensure a limiter that fails lets requests through (limits protect the
// service; a Redis outage must not become a login outage), and failures
// are still answered as failures.
func TestLimiterDownFailsOpen(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 1, Period: time.Hour})
	s.Auth.Limiter = brokenLimiter{}
	s.Auth.Config.IPLimit = ratelimit.Limit{Count: 1, Period: time.Hour}
	for range 3 {
		if err := s.Auth.AdmitIP(context.Background(), "login", identity.Client{IP: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		if code := s.login(t, "192.0.2.1", "wrong password"); code != identity.EUNAUTHENTICATED {
			t.Fatal(code)
		}
	}
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("the right password with the limiter down: %s", code)
	}
}

// Ensure unknown tenant (by id and alias), unknown email, wrong password
// and a disabled user get one answer, code and message alike, and that
// only the failures of existing users are recorded, never with the
// password.
func TestBadCredentialsLookAlike(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	email, p, off := "off@example.com", pw, identity.StatusDisabled
	if _, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, Password: &p, Status: &off}); err != nil {
		t.Fatal(err)
	}
	var first *identity.Error
	for name, mut := range map[string]func(r *identity.LoginRequest){
		"wrong password": func(r *identity.LoginRequest) { r.Password = pw + "!" },
		"unknown email":  func(r *identity.LoginRequest) { r.Email = "nobody@example.com" },
		"unknown id":     func(r *identity.LoginRequest) { r.TenantID = identity.NewID() },
		"unknown alias":  func(r *identity.LoginRequest) { r.TenantID, r.TenantAlias = "", "nope" },
		"disabled":       func(r *identity.LoginRequest) { r.Email = email },
	} {
		r := s.req("192.0.2.1", pw)
		mut(&r)
		_, err := s.Auth.Login(ctx, r)
		e := identity.AsError(err)
		if first == nil {
			first = e
		}
		if e.Code != identity.EUNAUTHENTICATED || e.Message != first.Message || e.Field != "" {
			t.Fatalf("%s: %v; first answer %v", name, e, first)
		}
	}
	failed := s.events(t, identity.EventLoginFailed)
	if len(failed) != 2 {
		t.Fatalf("%d login-failed events, want 2 (wrong password, disabled)", len(failed))
	}
	for _, e := range failed {
		if data := fmt.Sprint(e.Data); strings.Contains(data, pw) {
			t.Fatalf("an event carries the password: %s", data)
		}
	}
}

// Ensure an imported hash (bcrypt here) logs in and is replaced by the
// current argon2id in the login's own write.
func TestImportedHashRehashed(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	email, hash := "old@example.com", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"
	u, err := s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, PasswordHash: &hash})
	if err != nil {
		t.Fatal(err)
	}
	r := s.req("192.0.2.1", "correct horse battery staple")
	r.Email = email
	for range 2 {
		if _, err := s.Auth.Login(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if u, _ = s.db.GetUser(ctx, s.tenant.ID, u.ID); !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Fatalf("hash after the login: %q", u.PasswordHash)
	}
}

// overloaded is a hasher whose pool refuses every hash, as package
// password's does under load.
type overloaded struct{ identity.PasswordHasher }

type busyErr struct{}

func (busyErr) Error() string             { return "the hashing pool is full" }
func (busyErr) RetryAfter() time.Duration { return 2 * time.Second }
func (overloaded) Verify(context.Context, string, string) (bool, bool, error) {
	return false, false, busyErr{}
}
func (overloaded) VerifyDummy(context.Context, string) error { return busyErr{} }

// Ensure a login refused by an overloaded hashing pool is EUNAVAILABLE
// with the pool's wait, for known and unknown users alike, and is no
// failed login: it records nothing and counts against no throttle.
func TestHashingOverloadIsUnavailable(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 1, Period: time.Hour})
	s.Auth.Passwords = overloaded{s.Auth.Passwords}
	for _, email := range []string{"ada@example.com", "ghost@example.com"} {
		for range identity.FreeFailures + 1 {
			r := s.req("192.0.2.1", pw)
			r.Email = email
			_, err := s.Auth.Login(context.Background(), r)
			if e := identity.AsError(err); e.Code != identity.EUNAVAILABLE || e.RetryAfter != 2*time.Second {
				t.Fatalf("%s: %v", email, err)
			}
		}
	}
	if evs := s.events(t, identity.EventLoginFailed); len(evs) != 0 {
		t.Fatalf("%d login-failed events", len(evs))
	}
	s.Auth.Passwords = s.Auth.Passwords.(overloaded).PasswordHasher
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("once the pool has room: %s", code)
	}
}

// Ensure TokenLogin opens a new session for the device with its token
// unchanged, that the device's logout ends the session and retires the
// token, and that a tenant rotating tokens hands out a successor and
// retires the one presented.
func TestReauthentication(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	first := s.mustDeviceLogin(t, "phone")
	again, err := s.Auth.TokenLogin(ctx, s.tenant.ID, first.ReauthToken, identity.Client{})
	if err != nil || again.ReauthToken != first.ReauthToken || again.Session.ID == first.Session.ID || again.SessionToken == "" {
		t.Fatalf("token login: %+v %v", again, err)
	}
	if _, err := s.Auth.TokenLogin(ctx, identity.NewID(), first.ReauthToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("in another tenant: %v", err)
	}
	if err := s.Auth.DeviceLogout(ctx, s.tenant.ID, again.SessionToken, identity.Client{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, first.ReauthToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("after the device's logout: %v", err)
	}
	if err := s.Auth.DeviceLogout(ctx, s.tenant.ID, "lst1.garbage.x", identity.Client{}); identity.AsError(err).Field != "session_token" {
		t.Fatalf("a garbage session token: %v", err)
	}

	rotate := identity.TenantSettings{RotateReauthTokens: true}
	if _, err := s.Admin.UpdateTenant(ctx, s.tenant.ID, identity.TenantInput{Settings: &rotate}); err != nil {
		t.Fatal(err)
	}
	grant := s.mustDeviceLogin(t, "phone")
	next, err := s.Auth.TokenLogin(ctx, s.tenant.ID, grant.ReauthToken, identity.Client{})
	if err != nil || next.ReauthToken == grant.ReauthToken {
		t.Fatalf("rotating tenant: %+v %v", next, err)
	}
	if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, grant.ReauthToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("the retired token: %v", err)
	}
	if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, next.ReauthToken, identity.Client{}); err != nil {
		t.Fatalf("its successor: %v", err)
	}
	if _, err := s.Auth.DeviceLogin(ctx, s.req("192.0.2.1", pw), true); identity.AsError(err).Field != "device_name" {
		t.Fatalf("a re-authentication token without a device: %v", err)
	}
}

// Ensure token logins are limited per re-authentication token at the
// address limit's rate, whatever address they come from.
func TestTokenLoginLimitedPerGrant(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	grant := s.mustDeviceLogin(t, "phone")
	s.Auth.Config.IPLimit = ratelimit.Limit{Count: 2, Period: time.Minute}
	ctx := context.Background()
	for i, ip := range []string{"192.0.2.1", "198.51.100.1"} {
		if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, grant.ReauthToken, identity.Client{IP: ip}); err != nil {
			t.Fatalf("token login %d: %v", i, err)
		}
	}
	_, err := s.Auth.TokenLogin(ctx, s.tenant.ID, grant.ReauthToken, identity.Client{IP: "203.0.113.1"})
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.Field != "session" {
		t.Fatalf("a third token login a minute: %v", err)
	}
}
