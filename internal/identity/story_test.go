package identity_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// The stories below state the core's security rules one by one, on the
// real SQLite store and the in-memory limiter, with a clock the test moves:
// no sleeps, no wire format. The dialects' tests check only how these
// outcomes are written on their wire.

// clock is a time that only the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const pw = "correct horse battery"

// story is a service with one tenant and one user (ada@example.com).
type story struct {
	*identity.Service
	db     *sqlite.DB
	clock  *clock
	tenant *identity.Tenant
	user   *identity.User
}

// MustStory starts a story; limits apply from the start. opts adjust
// the service's dependencies.
func MustStory(tb testing.TB, account ratelimit.Limit, opts ...func(*identity.Deps)) *story {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "story.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)}
	secret := []byte("identity story secret, 32 bytes or more")
	keys, err := token.NewKeyring(ctx, db, token.KeyringConfig{Secret: secret, Alg: token.AlgEdDSA, Issuer: "t", AccessTTL: time.Minute, Now: c.Now})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		tb.Fatal(err)
	}
	s := &story{db: db, clock: c}
	deps := identity.Deps{Store: db, Passwords: h, Signer: keys, Codec: token.NewCodec(secret), Now: c.Now,
		Limiter: ratelimit.NewMemory(c.Now), Config: identity.Config{AccountLimit: account}, Logger: slog.New(slog.DiscardHandler),
		TOTPSealer: token.NewSealer(secret, token.LabelTOTP), WebhookSealer: token.NewSealer(secret, token.LabelWebhook),
		MigrationSealer: token.NewSealer(secret, token.LabelMigration)}
	for _, o := range opts {
		o(&deps)
	}
	s.Service = identity.New(deps)
	name, alias, email, p := "Acme", "acme", "ada@example.com", pw
	if s.tenant, err = s.Admin.CreateTenant(ctx, identity.TenantInput{Name: &name, Alias: &alias}); err != nil {
		tb.Fatal(err)
	}
	if s.user, err = s.Admin.CreateUser(ctx, s.tenant.ID, identity.UserInput{Email: &email, Password: &p}); err != nil {
		tb.Fatal(err)
	}
	return s
}

func (s *story) req(ip, password string) identity.LoginRequest {
	return identity.LoginRequest{TenantID: s.tenant.ID, Email: "ada@example.com", Password: password,
		Client: identity.Client{Dialect: "test", IP: ip, Quota: &identity.Quota{}}}
}

// login tries pw from ip and returns the error code ("" for a session).
func (s *story) login(tb testing.TB, ip, password string) string {
	tb.Helper()
	_, err := s.Auth.Login(context.Background(), s.req(ip, password))
	return identity.ErrorCode(err)
}

func (s *story) events(tb testing.TB, typ string) []*identity.Event {
	tb.Helper()
	evs, _, err := s.db.ListEvents(context.Background(), s.tenant.ID, identity.EventFilter{Type: typ}, identity.Page{Limit: 500})
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

func wantCodes(tb testing.TB, what string, got []string, want ...string) {
	tb.Helper()
	if !slices.Equal(got, want) {
		tb.Fatalf("%s: %v, want %v", what, got, want)
	}
}

// Ensure a successful login never uses up a limit: fifteen in a row from
// one address, against an account limit of three, all succeed.
func TestSuccessesNeverThrottle(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 3, Period: time.Hour})
	for i := range 15 {
		if code := s.login(t, "192.0.2.1", pw); code != "" {
			t.Fatalf("login %d: %s", i+1, code)
		}
	}
}

// Ensure failures from one address cost growing delays after five (1 s,
// 2 s, 4 s…), never a lockout: the delay passes, another address is
// unaffected, a good login ends the streak.
func TestProgressiveThrottling(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	var got []string
	for range identity.FreeFailures {
		got = append(got, s.login(t, "192.0.2.1", "wrong password"))
	}
	got = append(got, s.login(t, "192.0.2.1", pw))
	wantCodes(t, "five failures and the right password", got, "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "unauthenticated", "rate_limited")
	_, err := s.Auth.Login(context.Background(), s.req("192.0.2.1", pw))
	if e := identity.AsError(err); e.Field != "failed_logins" || e.RetryAfter != time.Second {
		t.Fatalf("first delay: %v (%v)", e, e.RetryAfter)
	}
	if code := s.login(t, "192.0.2.2", pw); code != "" {
		t.Fatalf("another address is throttled: %s", code)
	}
	s.clock.Advance(time.Second)
	wantCodes(t, "after 1 s", []string{s.login(t, "192.0.2.1", "wrong password"), s.login(t, "192.0.2.1", pw)}, "unauthenticated", "rate_limited")
	_, err = s.Auth.Login(context.Background(), s.req("192.0.2.1", pw))
	if d := identity.AsError(err).RetryAfter; d != 2*time.Second {
		t.Fatalf("second delay %v, want 2s", d)
	}
	if locked := s.events(t, identity.EventLocked); len(locked) != 1 || locked[0].Data["reason"] != identity.LockFailedLogins {
		t.Fatalf("account.locked: %+v", locked)
	}
	s.clock.Advance(2 * time.Second)
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("after the delay: %s", code)
	}
	// The good login ended the streak: five failures are free again.
	for range identity.FreeFailures {
		if code := s.login(t, "192.0.2.1", "wrong password"); code != identity.EUNAUTHENTICATED {
			t.Fatalf("streak not reset: %s", code)
		}
	}
}

// Ensure the account-wide failure ceiling slows strangers only: after a
// flood of failures from many addresses, a new address is refused, while
// the owner's known address (it logged in from there) still gets in, and
// account.locked records the trip once. An account that does not exist is
// refused exactly alike.
func TestFailureCeilingSparesKnownAddresses(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 10, Period: time.Hour})
	if code := s.login(t, "198.51.100.7", pw); code != "" { // the owner's usual address
		t.Fatal(code)
	}
	for i := range 10 {
		ip := fmt.Sprintf("203.0.113.%d", i+1) // ten attackers, each under its own streak
		if code := s.login(t, ip, "wrong password"); code != identity.EUNAUTHENTICATED {
			t.Fatalf("failure %d: %s", i, code)
		}
	}
	_, err := s.Auth.Login(context.Background(), s.req("192.0.2.200", pw))
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.Field != "account" || e.RetryAfter <= 0 {
		t.Fatalf("a stranger with the right password: %v", err)
	}
	if code := s.login(t, "198.51.100.7", pw); code != "" {
		t.Fatalf("the owner at its known address: %s", code)
	}
	// A new IPv6 /64 is a stranger too.
	if code := s.login(t, "2001:db8:1:2::10", pw); code != identity.ERATELIMITED {
		t.Fatalf("a new IPv6 /64: %s", code)
	}
	locked := s.events(t, identity.EventLocked)
	if len(locked) != 1 || locked[0].Data["reason"] != identity.LockCeiling {
		t.Fatalf("account.locked: %+v", locked)
	}
	// An unknown email in the same tenant: the same answers.
	ghost := func(ip, password string) string {
		r := s.req(ip, password)
		r.Email = "ghost@example.com"
		_, err := s.Auth.Login(context.Background(), r)
		return identity.ErrorCode(err)
	}
	for i := range 10 {
		ghost(fmt.Sprintf("203.0.113.%d", i+1), "wrong password")
	}
	if code := ghost("192.0.2.200", pw); code != identity.ERATELIMITED {
		t.Fatalf("unknown account: %s", code)
	}
	// One interval later the ceiling lets one stranger's attempt through.
	s.clock.Advance(6 * time.Minute)
	if code := s.login(t, "192.0.2.200", pw); code != "" {
		t.Fatalf("after the interval: %s", code)
	}
}

// Ensure a known address is one the user logged in from within
// KnownAddressLifetime: after that the ceiling binds it again.
func TestKnownAddressExpires(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 2, Period: 24 * time.Hour})
	s.login(t, "198.51.100.7", pw)
	s.clock.Advance(identity.KnownAddressLifetime + time.Hour)
	s.login(t, "203.0.113.1", "wrong password")
	s.login(t, "203.0.113.2", "wrong password")
	if code := s.login(t, "198.51.100.7", pw); code != identity.ERATELIMITED {
		t.Fatalf("an address last used %v ago is still known: %s", identity.KnownAddressLifetime, code)
	}
}

// Ensure every limit keys IPv6 clients by their /64: failures from two
// interface ids of one /64 share a streak, another /64 has its own.
func TestIPv6KeyedBy64(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	for i := range identity.FreeFailures {
		s.login(t, "2001:db8:1:2::"+string(rune('1'+i)), "wrong password")
	}
	if code := s.login(t, "2001:db8:1:2:ffff:ffff:ffff:ffff", pw); code != identity.ERATELIMITED {
		t.Fatalf("same /64: %s", code)
	}
	if code := s.login(t, "2001:db8:1:3::1", pw); code != "" {
		t.Fatalf("another /64: %s", code)
	}
}

// Ensure AddressKey is the one rule for limit keys.
func TestAddressKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                         "192.0.2.1",
		"::ffff:192.0.2.1":                  "192.0.2.1",
		"2001:db8:1:2:3:4:5:6":              "2001:db8:1:2::/64",
		"2001:DB8:1:2::":                    "2001:db8:1:2::/64",
		"fe80::1%eth0":                      "fe80::/64",
		"::1":                               "::/64",
		" 198.51.100.3 ":                    "198.51.100.3",
		"not an address":                    "not an address",
		"2001:db8:abcd:12:ffff:ffff:ffff:0": "2001:db8:abcd:12::/64",
	} {
		if got := identity.AddressKey(in); got != want {
			t.Errorf("AddressKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Ensure the quota the dialects render shows the caller's own
// per-address limit, never the account's: a stranger refused by the
// ceiling sees its full address budget.
func TestQuotaIsPerAddress(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 1, Period: time.Hour})
	s.Auth.Config.IPLimit = ratelimit.Limit{Count: 100, Period: time.Minute}
	s.login(t, "203.0.113.1", "wrong password")
	r := s.req("192.0.2.9", pw)
	if err := s.Auth.AdmitIP(context.Background(), "login", r.Client); err != nil {
		t.Fatal(err)
	}
	_, err := s.Auth.Login(context.Background(), r)
	if identity.ErrorCode(err) != identity.ERATELIMITED {
		t.Fatalf("login: %v", err)
	}
	if q := r.Client.Quota; q.Limit.Period != time.Minute || q.Remaining != 99 {
		t.Fatalf("quota %+v shows more than the address's own budget", q)
	}
}

// Ensure an admin lift forgets the streaks of every address, the ceiling
// and the second-factor attempts at once.
func TestLiftThrottle(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{Count: 6, Period: time.Hour})
	for range identity.FreeFailures {
		s.login(t, "203.0.113.1", "wrong password") // a streak there
	}
	s.login(t, "203.0.113.2", "wrong password") // and the ceiling spent
	wantCodes(t, "throttled", []string{s.login(t, "203.0.113.1", pw), s.login(t, "192.0.2.1", pw)}, "rate_limited", "rate_limited")
	s.clock.Advance(time.Millisecond) // the lift comes after the last failure
	if err := s.Auth.LiftThrottle(context.Background(), s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	wantCodes(t, "after the lift", []string{s.login(t, "203.0.113.1", pw), s.login(t, "192.0.2.1", pw)}, "", "")
	if evs := s.events(t, "admin.throttle.lifted"); len(evs) != 1 {
		t.Fatalf("%d admin.throttle.lifted events", len(evs))
	}
}

// Ensure a login never undoes a password change it raced: the admin's
// change lands between the login's password check and its write; the
// login answers as a bad password, writes nothing (no session, no rehash
// of the old password), and the new password works.
func TestLoginRacingPasswordChange(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	newPw := "a brand new password"
	s.Auth.Passwords = &hookHasher{PasswordHasher: s.Auth.Passwords, afterVerify: func() {
		if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Password: &newPw}); err != nil {
			t.Error(err)
		}
	}, rehash: true}
	_, err := s.Auth.Login(ctx, s.req("192.0.2.1", pw))
	if identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatalf("the raced login: %v", err)
	}
	s.Auth.Passwords = s.Auth.Passwords.(*hookHasher).PasswordHasher
	sessions, _, _ := s.db.ListUserSessions(ctx, s.tenant.ID, s.user.ID, identity.Page{})
	if len(sessions) != 0 {
		t.Fatalf("%d sessions from the old password", len(sessions))
	}
	wantCodes(t, "passwords after the change", []string{s.login(t, "192.0.2.1", pw), s.login(t, "192.0.2.1", newPw)}, "unauthenticated", "")
}

// hookHasher runs afterVerify between a password's check and the login's
// write, and can ask for a rehash (as for an imported hash).
type hookHasher struct {
	identity.PasswordHasher
	afterVerify func()
	rehash      bool
}

func (h *hookHasher) Verify(ctx context.Context, p, encoded string) (bool, bool, error) {
	ok, rehash, err := h.PasswordHasher.Verify(ctx, p, encoded)
	if ok && h.afterVerify != nil {
		h.afterVerify()
	}
	return ok, rehash || h.rehash, err
}

// Ensure refresh tokens rotate, the previous one within the grace window
// yields the same successor, and an older one (or the previous after the
// window) is reuse: the session is revoked and the event recorded.
func TestRefreshReuseAndGrace(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	first, err := s.Auth.Login(ctx, s.req("192.0.2.1", pw))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Auth.Refresh(ctx, first.RefreshToken, identity.Client{})
	if err != nil || second.RefreshToken == first.RefreshToken {
		t.Fatalf("rotation: %v", err)
	}
	s.clock.Advance(identity.DefaultConfig.RefreshGrace)
	again, err := s.Auth.Refresh(ctx, first.RefreshToken, identity.Client{})
	if err != nil || !again.Grace || again.RefreshToken != second.RefreshToken {
		t.Fatalf("within the grace window: %+v %v", again, err)
	}
	s.clock.Advance(time.Millisecond)
	if _, err := s.Auth.Refresh(ctx, first.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENREUSED {
		t.Fatalf("after the grace window: %v", err)
	}
	if _, err := s.Auth.Refresh(ctx, second.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("the successor after reuse: %v", err)
	}
	if evs := s.events(t, identity.EventRefreshTokenReused); len(evs) != 1 {
		t.Fatalf("%d reuse events", len(evs))
	}
}

// Ensure a session dies after its inactivity timeout, and after its
// absolute lifetime however active it is.
func TestSessionExpiry(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	idle, _ := s.Auth.Login(ctx, s.req("192.0.2.1", pw))
	active, _ := s.Auth.Login(ctx, s.req("192.0.2.1", pw))
	tok := active.RefreshToken
	for elapsed := time.Duration(0); elapsed+6*24*time.Hour < identity.DefaultConfig.SessionLifetime; elapsed += 6 * 24 * time.Hour {
		s.clock.Advance(6 * 24 * time.Hour)
		res, err := s.Auth.Refresh(ctx, tok, identity.Client{})
		if err != nil {
			t.Fatalf("an active session died at %v: %v", elapsed, err)
		}
		tok = res.RefreshToken
	}
	if _, err := s.Auth.Refresh(ctx, idle.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("idle for weeks: %v", err)
	}
	s.clock.Advance(6 * 24 * time.Hour)
	if _, err := s.Auth.Refresh(ctx, tok, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("past the absolute lifetime: %v", err)
	}
}

// mustTOTP turns two-factor on for the story's user and returns its secret.
func (s *story) mustTOTP(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	if _, err := s.SecondFactor.BeginTOTP(ctx, s.tenant.ID, s.user.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := s.db.GetTOTP(ctx, s.tenant.ID, s.user.ID)
	plain, err := s.SecondFactor.Sealer.Open(c.SecretSealed, identity.TOTPSealAD(s.user.ID))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SecondFactor.ConfirmTOTP(ctx, s.tenant.ID, s.user.ID, s.code(t, string(plain), 0)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(30 * time.Second) // the confirming code counts as used
	return string(plain)
}

// code is the code for the clock's time step plus offset steps.
func (s *story) code(t *testing.T, secret string, offset int64) string {
	t.Helper()
	c, err := mfa.CodeAt(secret, mfa.Step(s.clock.Now())+offset, mfa.Digits)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *story) login2FA(t *testing.T, ip, code string) string {
	t.Helper()
	r := s.req(ip, pw)
	r.TwoFactorCode = code
	_, err := s.Auth.Login(context.Background(), r)
	return identity.ErrorCode(err)
}

// wrongCode is a code that is not valid now.
func (s *story) wrongCode(t *testing.T, secret string) string {
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != s.code(t, secret, -1) && c != s.code(t, secret, 0) && c != s.code(t, secret, 1) {
			return c
		}
	}
	t.Fatal("no wrong code")
	return ""
}

// Ensure a code is accepted once: the same code again is refused, even
// within its time step.
func TestSecondFactorReplay(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	c := s.code(t, secret, 0)
	wantCodes(t, "a code twice", []string{s.login2FA(t, "192.0.2.1", c), s.login2FA(t, "192.0.2.1", c)}, "", "two_factor_invalid")
	replayed := false
	for _, e := range s.events(t, identity.EventLoginFailed) {
		replayed = replayed || e.Data["reason"] == "second_factor_replayed"
	}
	if !replayed {
		t.Fatal("no second_factor_replayed event")
	}
}

// Ensure failed codes from one address escalate: five free, then a
// 5-minute lock-out that doubles with each further failure; another
// address (the owner's known one) is not locked out by them, and
// account.locked records each lock-out.
func TestSecondFactorEscalation(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	owner, attacker := "198.51.100.7", "203.0.113.66"
	if code := s.login2FA(t, owner, s.code(t, secret, 0)); code != "" { // the owner's address becomes known
		t.Fatal(code)
	}
	bad := s.wrongCode(t, secret)
	for range identity.SecondFactorFree {
		if code := s.login2FA(t, attacker, bad); code != identity.ETWOFACTORINVALID {
			t.Fatal(code)
		}
	}
	r := s.req(attacker, pw)
	r.TwoFactorCode = bad
	_, err := s.Auth.Login(context.Background(), r)
	if e := identity.AsError(err); e.Code != identity.ERATELIMITED || e.RetryAfter != identity.SecondFactorLockout {
		t.Fatalf("after five failures: %v, retry after %v", err, e.RetryAfter)
	}
	s.clock.Advance(30 * time.Second)
	if code := s.login2FA(t, owner, s.code(t, secret, 0)); code != "" {
		t.Fatalf("the owner is locked out by the attacker's failures: %s", code)
	}
	s.clock.Advance(identity.SecondFactorLockout)
	if code := s.login2FA(t, attacker, bad); code != identity.ETWOFACTORINVALID {
		t.Fatalf("after the lock-out: %s", code)
	}
	_, err = s.Auth.Login(context.Background(), r)
	if d := identity.AsError(err).RetryAfter; d != 2*identity.SecondFactorLockout {
		t.Fatalf("second lock-out %v, want %v", d, 2*identity.SecondFactorLockout)
	}
	var reasons []any
	for _, e := range s.events(t, identity.EventLocked) {
		reasons = append(reasons, e.Data["reason"])
	}
	if len(reasons) != 2 || reasons[0] != identity.LockSecondFactor {
		t.Fatalf("account.locked reasons %v, want two second_factor", reasons)
	}
}

// Ensure the daily cap: an attacker with the password and many addresses
// gets SecondFactorDailyCap failed codes a day, then every address not
// known for the user is refused, while the owner's known address is not.
func TestSecondFactorDailyCap(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	secret := s.mustTOTP(t)
	owner := "198.51.100.7"
	if code := s.login2FA(t, owner, s.code(t, secret, 0)); code != "" {
		t.Fatal(code)
	}
	bad := s.wrongCode(t, secret)
	for i := range identity.SecondFactorDailyCap {
		// A few attempts per address, under each address's own lock-out.
		if code := s.login2FA(t, fmt.Sprintf("203.0.113.%d", i/4), bad); code != identity.ETWOFACTORINVALID {
			t.Fatalf("attempt %d: %s", i, code)
		}
	}
	s.clock.Advance(30 * time.Second) // a fresh code: the owner used this step's
	if code := s.login2FA(t, "192.0.2.77", s.code(t, secret, 0)); code != identity.ERATELIMITED {
		t.Fatalf("a new address after the cap: %s", code)
	}
	if code := s.login2FA(t, owner, s.code(t, secret, 0)); code != "" {
		t.Fatalf("the owner at its known address after the cap: %s", code)
	}
	capped := false
	for _, e := range s.events(t, identity.EventLocked) {
		capped = capped || e.Data["reason"] == identity.LockDailyCap
	}
	if !capped {
		t.Fatal("no account.locked for the daily cap")
	}
	s.clock.Advance(24 * time.Hour)
	if code := s.login2FA(t, "192.0.2.77", s.code(t, secret, 0)); code != "" {
		t.Fatalf("a day later: %s", code)
	}
}

// Ensure a user name logs in through LoginRequest.Login, an email there
// too, and that both are refused alike when wrong.
func TestLoginByUsername(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	name := "Ada.L"
	if _, err := s.Admin.UpdateUser(ctx, s.tenant.ID, s.user.ID, identity.UserInput{Username: &name}); err != nil {
		t.Fatal(err)
	}
	try := func(login, password string) string {
		r := s.req("192.0.2.1", password)
		r.Email, r.Login = "", login
		_, err := s.Auth.Login(ctx, r)
		return identity.ErrorCode(err)
	}
	wantCodes(t, "logins", []string{try("ada.l", pw), try(" ADA.L ", pw), try("ada@example.com", pw), try("ada.l", "wrong password"), try("nobody", pw)},
		"", "", "", "unauthenticated", "unauthenticated")
}

// Ensure a NUL in a login field is EINVALID naming the field, and that
// header values that are not UTF-8 are kept cleaned, never refused.
func TestLoginText(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	for field, mut := range map[string]func(r *identity.LoginRequest){
		"email":     func(r *identity.LoginRequest) { r.Email = "ada@example.com\x00" },
		"password":  func(r *identity.LoginRequest) { r.Password = pw + "\x00" },
		"tenant_id": func(r *identity.LoginRequest) { r.TenantID = "\xff" },
		"login":     func(r *identity.LoginRequest) { r.Email, r.Login = "", "ada\x00" },
	} {
		r := s.req("192.0.2.1", pw)
		mut(&r)
		_, err := s.Auth.Login(ctx, r)
		if e := identity.AsError(err); e.Code != identity.EINVALID || e.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	r := s.req("192.0.2.1", pw)
	r.Client.UserAgent, r.Client.Origin = "caf\xe9/1.0\x00", "https://\xffexample"
	res, err := s.Auth.Login(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.UserAgent != "caf\uFFFD/1.0\uFFFD" || res.Session.Origin != "https://\uFFFDexample" {
		t.Fatalf("kept %q and %q", res.Session.UserAgent, res.Session.Origin)
	}
}

// Ensure a device has one live re-authentication token: a second login
// asking for one retires the first.
func TestOneReauthTokenPerDevice(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	first, second := s.mustDeviceLogin(t, "phone"), s.mustDeviceLogin(t, "phone")
	if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, first.ReauthToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("the replaced token: %v", err)
	}
	if _, err := s.Auth.TokenLogin(ctx, s.tenant.ID, second.ReauthToken, identity.Client{}); err != nil {
		t.Fatalf("the live token: %v", err)
	}
}

// mustDeviceLogin logs the story's user in on device, asking for a
// re-authentication token.
func (s *story) mustDeviceLogin(t *testing.T, device string) *identity.DeviceLoginResult {
	t.Helper()
	r := s.req("192.0.2.1", pw)
	r.Device = device
	res, err := s.Auth.DeviceLogin(context.Background(), r, true)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Ensure two logins of one user that both rehash its password (an
// imported hash, or new argon2 settings) both succeed: the second's write
// finds the first's rehash, checks the password again and goes through.
func TestLoginRacingRehash(t *testing.T) {
	s := MustStory(t, ratelimit.Limit{})
	ctx := context.Background()
	inner := &hookHasher{PasswordHasher: s.Auth.Passwords, rehash: true}
	outer := &hookHasher{PasswordHasher: s.Auth.Passwords, rehash: true}
	outer.afterVerify = func() {
		outer.afterVerify = nil
		s.Auth.Passwords = inner // the other login, start to end, between this one's check and write
		if _, err := s.Auth.Login(ctx, s.req("192.0.2.2", pw)); err != nil {
			t.Errorf("the other login: %v", err)
		}
		s.Auth.Passwords = outer
	}
	s.Auth.Passwords = outer
	if _, err := s.Auth.Login(ctx, s.req("192.0.2.1", pw)); err != nil {
		t.Fatalf("the login that lost the race to a rehash: %v", err)
	}
	if sessions, _, _ := s.db.ListUserSessions(ctx, s.tenant.ID, s.user.ID, identity.Page{}); len(sessions) != 2 {
		t.Fatalf("%d sessions, want 2", len(sessions))
	}
}
