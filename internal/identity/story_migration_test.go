package identity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password/passwordtest"
	"github.com/latchauth/latch/internal/ratelimit"
)

// fakeUpstream is a hand-written identity.Upstream: Answer decides, Hits
// counts the calls, Last keeps what the last one was sent.
type fakeUpstream struct {
	Answer func(m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error)
	hits   atomic.Int64
	mu     sync.Mutex
	last   identity.TenantMigration
}

var _ identity.Upstream = (*fakeUpstream)(nil)

func (f *fakeUpstream) Authenticate(_ context.Context, m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
	f.hits.Add(1)
	f.mu.Lock()
	f.last = m
	f.mu.Unlock()
	return f.Answer(m, login, password)
}

func (f *fakeUpstream) Hits() int { return int(f.hits.Load()) }

const upstreamPW = "upstream password 1"

// knows answers like an upstream that has grace@example.com (and the
// user name "grace") with upstreamPW.
func knows(_ identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
	if (login != "grace@example.com" && login != "grace") || password != upstreamPW {
		return nil, fmt.Errorf("%w: status 401", identity.ErrUpstreamRejected)
	}
	return &identity.UpstreamUser{ID: "up-1", Email: "Grace@Example.com", FirstName: "Grace", LastName: "Hopper",
		EmailVerified: true, Profile: map[string]any{"language": "en"}}, nil
}

// migratingStory is a story whose tenant migrates from an upstream.
func migratingStory(tb testing.TB, account ratelimit.Limit, m identity.TenantMigration) (*story, *fakeUpstream) {
	tb.Helper()
	s := MustStory(tb, account)
	up := &fakeUpstream{Answer: knows}
	s.Auth.Upstream = up
	if _, err := s.Admin.UpdateTenant(context.Background(), s.tenant.ID, identity.TenantInput{Settings: &identity.TenantSettings{Migration: &m}}); err != nil {
		tb.Fatal(err)
	}
	return s, up
}

var accountsV3 = identity.TenantMigration{Dialect: identity.UpstreamAccountsV3, BaseURL: "https://api.example.com", AccountID: "acc-1"}

func (s *story) loginAs(tb testing.TB, login, password string) (*identity.LoginResult, error) {
	tb.Helper()
	return s.Auth.Login(context.Background(), identity.LoginRequest{TenantID: s.tenant.ID, Login: login, Password: password,
		Client: identity.Client{Dialect: "test", IP: "192.0.2.7"}})
}

func (s *story) counts(tb testing.TB) (total, migrated int) {
	tb.Helper()
	total, migrated, err := s.db.CountUsers(context.Background(), s.tenant.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return total, migrated
}

// Ensure a first login for a name the tenant does not have is checked
// once upstream: success creates the user with the answer's profile and a
// hash of the checked password, records user.migrated, and answers with
// latch's tokens; the next logins, right or wrong, never go upstream.
func TestMigrationFirstLogin(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	res, err := s.loginAs(t, "grace@example.com", upstreamPW)
	if err != nil || res.AccessToken == "" || res.RefreshToken == "" {
		t.Fatalf("first login: %v", err)
	}
	u := res.User
	if u.Email != "Grace@Example.com" || u.FirstName != "Grace" || u.LastName != "Hopper" || !u.EmailVerified ||
		u.MigratedFrom != identity.UpstreamAccountsV3 || u.Profile["migrated_id"] != "up-1" || u.Profile["language"] != "en" {
		t.Fatalf("migrated user: %+v", u)
	}
	if ok, _, err := s.Service.Auth.Passwords.Verify(context.Background(), upstreamPW, u.PasswordHash); !ok || err != nil {
		t.Fatalf("stored hash does not verify the checked password: %v", err)
	}
	if evs := s.events(t, identity.EventMigrated); len(evs) != 1 || evs[0].UserID != u.ID || evs[0].Data["upstream"] != identity.UpstreamAccountsV3 {
		t.Fatalf("user.migrated events: %+v", evs)
	}
	if up.last.AccountID != "acc-1" || up.last.BaseURL != "https://api.example.com" {
		t.Fatalf("upstream was sent %+v", up.last)
	}
	up.Answer = func(identity.TenantMigration, string, string) (*identity.UpstreamUser, error) {
		t.Fatal("a migrated user went upstream again")
		return nil, nil
	}
	if _, err := s.loginAs(t, "GRACE@example.com", upstreamPW); err != nil {
		t.Fatalf("second login: %v", err)
	}
	if _, err := s.loginAs(t, "grace@example.com", "wrong password 1"); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatalf("wrong password after migration: %v", err)
	}
	if up.Hits() != 1 {
		t.Fatalf("upstream hits %d, want 1", up.Hits())
	}
	if total, migrated := s.counts(t); total != 2 || migrated != 1 {
		t.Fatalf("counts %d/%d, want 2 users, 1 migrated", total, migrated)
	}
}

// Ensure users latch already has never go upstream, whether their
// password is right or wrong, and whether they have a password at all.
func TestMigrationKnownUsersStayLocal(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	if code := s.login(t, "192.0.2.1", pw); code != "" {
		t.Fatalf("known user: %s", code)
	}
	if code := s.login(t, "192.0.2.1", "not the password"); code != identity.EUNAUTHENTICATED {
		t.Fatalf("known user, wrong password: %s", code)
	}
	email := "nopw@example.com"
	if _, err := s.Admin.CreateUser(context.Background(), s.tenant.ID, identity.UserInput{Email: &email}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.loginAs(t, email, upstreamPW); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatalf("user without a password: %v", err)
	}
	if up.Hits() != 0 {
		t.Fatalf("upstream hits %d, want 0", up.Hits())
	}
}

// Ensure an upstream refusal is latch's usual 401 and creates nothing,
// and an unreachable upstream is EUNAVAILABLE with a retry time: never a
// 401, since the password may be right.
func TestMigrationRefusedOrUnavailable(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	if _, err := s.loginAs(t, "grace@example.com", "wrong password 1"); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatalf("refused upstream: %v", err)
	}
	if _, err := s.loginAs(t, "nobody@example.com", upstreamPW); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatalf("unknown everywhere: %v", err)
	}
	up.Answer = func(identity.TenantMigration, string, string) (*identity.UpstreamUser, error) {
		return nil, fmt.Errorf("%w: connection refused", identity.ErrUpstreamUnavailable)
	}
	_, err := s.loginAs(t, "grace@example.com", upstreamPW)
	var e *identity.Error
	if !errors.As(err, &e) || e.Code != identity.EUNAVAILABLE || e.RetryAfter <= 0 {
		t.Fatalf("upstream down: %v", err)
	}
	if total, migrated := s.counts(t); total != 1 || migrated != 0 || up.Hits() != 3 {
		t.Fatalf("counts %d/%d, hits %d: nothing may be created", total, migrated, up.Hits())
	}
}

// Ensure the upstream is asked only once latch's own limits admit the
// attempt: after the free failures, a throttled address's attempts do not
// reach the upstream.
func TestMigrationAfterLimits(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	for i := range identity.FreeFailures {
		if _, err := s.loginAs(t, "grace@example.com", "wrong password 1"); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := s.loginAs(t, "grace@example.com", upstreamPW); identity.ErrorCode(err) != identity.ERATELIMITED {
		t.Fatalf("throttled attempt: %v", err)
	}
	if up.Hits() != identity.FreeFailures {
		t.Fatalf("upstream hits %d, want %d", up.Hits(), identity.FreeFailures)
	}
	s.clock.Advance(identity.FailureMemory + time.Minute)
	if _, err := s.loginAs(t, "grace@example.com", upstreamPW); err != nil {
		t.Fatalf("after the streak: %v", err)
	}
}

// Ensure two concurrent first logins for one email create exactly one
// user, and both succeed: the loser checks the password against the user
// the winner created.
func TestMigrationConcurrentFirstLogins(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	up.Answer = func(m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
		arrived <- struct{}{}
		<-release
		return knows(m, login, password)
	}
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.loginAs(t, "grace@example.com", upstreamPW)
			errs <- err
		}()
	}
	<-arrived
	<-arrived // both are upstream: neither has created the user
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent first login: %v", err)
		}
	}
	if total, migrated := s.counts(t); total != 2 || migrated != 1 {
		t.Fatalf("counts %d/%d, want exactly one migrated user", total, migrated)
	}
	if evs := s.events(t, identity.EventMigrated); len(evs) != 1 {
		t.Fatalf("%d user.migrated events, want 1", len(evs))
	}
}

// Ensure user names go upstream only to token-login, whose Login takes
// them; the user gets the name and a placeholder address that cannot
// receive mail.
func TestMigrationByUserName(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	if _, err := s.loginAs(t, "grace", upstreamPW); identity.ErrorCode(err) != identity.EUNAUTHENTICATED || up.Hits() != 0 {
		t.Fatalf("user name to accounts-v3: %v, %d hits", err, up.Hits())
	}
	key := "upstream-api-key"
	m := identity.TenantMigration{Dialect: identity.UpstreamTokenLogin, BaseURL: "https://tl.example.com/", APIKey: key}
	if _, err := s.Admin.UpdateTenant(context.Background(), s.tenant.ID, identity.TenantInput{Settings: &identity.TenantSettings{Migration: &m}}); err != nil {
		t.Fatal(err)
	}
	up.Answer = func(m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
		u, err := knows(m, login, password)
		if u != nil {
			u.Email = "" // token-login's Me has no email
		}
		return u, err
	}
	res, err := s.loginAs(t, "grace", upstreamPW)
	if err != nil || res.User.Username != "grace" || res.User.Email != "grace@migrated.invalid" {
		t.Fatalf("user name to token-login: %v %+v", err, res)
	}
	if up.last.APIKey != key || up.last.BaseURL != "https://tl.example.com" {
		t.Fatalf("upstream was sent %+v", up.last)
	}
	if _, err := s.loginAs(t, "grace", upstreamPW); err != nil || up.Hits() != 1 {
		t.Fatalf("second login by user name: %v, %d hits", err, up.Hits())
	}
}

// Ensure the migration setting is checked field by field, its API key is
// sealed and never shown, an update that leaves the key out keeps it, and
// the setting switched off sends nobody upstream.
func TestMigrationSetting(t *testing.T) {
	s, up := migratingStory(t, ratelimit.Limit{}, accountsV3)
	ctx := context.Background()
	set := func(m *identity.TenantMigration) (*identity.Tenant, error) {
		return s.Admin.UpdateTenant(ctx, s.tenant.ID, identity.TenantInput{Settings: &identity.TenantSettings{Migration: m}})
	}
	for field, m := range map[string]identity.TenantMigration{
		"settings.migration.dialect":    {Dialect: "ldap", BaseURL: "https://x.example"},
		"settings.migration.base_url":   {Dialect: identity.UpstreamAccountsV3, BaseURL: "ftp://x.example", AccountID: "a"},
		"settings.migration.account_id": {Dialect: identity.UpstreamAccountsV3, BaseURL: "https://x.example"},
		"settings.migration.app_id":     {Dialect: identity.UpstreamAppAuth, BaseURL: "https://x.example", AppID: "not-a-uuid"},
		"settings.migration.api_key":    {Dialect: identity.UpstreamTokenLogin, BaseURL: "https://x.example"},
	} {
		if _, err := set(&m); identity.ErrorCode(err) != identity.EINVALID || identity.AsError(err).Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	tn, err := set(&identity.TenantMigration{Dialect: identity.UpstreamTokenLogin, BaseURL: "https://x.example", APIKey: "secret-key-1"})
	if err != nil {
		t.Fatal(err)
	}
	stored := tn.Settings.Migration
	if stored.APIKey != "" || len(stored.APIKeySealed) == 0 || string(stored.APIKeySealed) == "secret-key-1" {
		t.Fatalf("stored setting: %+v", stored)
	}
	if shown := tn.Settings.Shown().Migration; !shown.APIKeySet || shown.APIKeySealed != nil || shown.APIKey != "" {
		t.Fatalf("shown setting: %+v", shown)
	}
	if tn, err = set(&identity.TenantMigration{Dialect: identity.UpstreamTokenLogin, BaseURL: "https://x.example"}); err != nil ||
		string(tn.Settings.Migration.APIKeySealed) != string(stored.APIKeySealed) {
		t.Fatalf("an update without the key must keep it: %v", err)
	}
	if _, err := s.loginAs(t, "grace@example.com", upstreamPW); err != nil || up.last.APIKey != "secret-key-1" {
		t.Fatalf("login with the kept key: %v, sent %q", err, up.last.APIKey)
	}
	if _, err := set(nil); err != nil {
		t.Fatal(err)
	}
	if evs := s.events(t, "admin.tenant.updated"); len(evs) == 0 || !strings.Contains(fmt.Sprint(evs[0].Data["fields"]), "settings.migration") {
		t.Fatalf("switching off is not audited as a change of settings.migration: %+v", evs)
	}
	if _, err := s.loginAs(t, "hopper@example.com", upstreamPW); identity.ErrorCode(err) != identity.EUNAUTHENTICATED || up.Hits() != 1 {
		t.Fatalf("switched off: %v, %d hits", err, up.Hits())
	}
}

// Ensure the hashing work keeps timing close to a known user's: a name
// the upstream refuses still costs a dummy verification (on top of the
// round trip), and a migration costs one hash (of the checked password)
// in place of the verification, not both.
func TestMigrationHashWork(t *testing.T) {
	s, _ := migratingStory(t, ratelimit.Limit{}, accountsV3)
	h := &passwordtest.Counting{PasswordHasher: s.Auth.Passwords}
	s.Auth.Passwords = h
	if _, err := s.loginAs(t, "nobody@example.com", upstreamPW); identity.ErrorCode(err) != identity.EUNAUTHENTICATED {
		t.Fatal(err)
	}
	if h.Dummies.Load() != 1 || h.Verifies.Load() != 0 || h.Hashes.Load() != 0 {
		t.Fatalf("refused upstream: dummy %d, verify %d, hash %d; want one dummy verification", h.Dummies.Load(), h.Verifies.Load(), h.Hashes.Load())
	}
	if _, err := s.loginAs(t, "grace@example.com", upstreamPW); err != nil {
		t.Fatal(err)
	}
	if h.Dummies.Load() != 1 || h.Verifies.Load() != 0 || h.Hashes.Load() != 1 {
		t.Fatalf("migration: dummy %d, verify %d, hash %d; want one hash", h.Dummies.Load(), h.Verifies.Load(), h.Hashes.Load())
	}
}
