package identity_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

func MustService(tb testing.TB) (*identity.Service, *sqlite.DB) {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "svc.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	secret := []byte("identity test secret, 32 bytes or more")
	keys, err := token.NewKeyring(ctx, db, token.KeyringConfig{Secret: secret, Alg: token.AlgEdDSA, Issuer: "t", AccessTTL: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := password.New(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if err != nil {
		tb.Fatal(err)
	}
	return identity.New(identity.Deps{Store: db, Passwords: h, Signer: keys, Codec: token.NewCodec(secret), Logger: slog.New(slog.DiscardHandler),
		TOTPSealer: token.NewSealer(secret, token.LabelTOTP), WebhookSealer: token.NewSealer(secret, token.LabelWebhook)}), db
}

func MustLogin(tb testing.TB, s *identity.Service) (*identity.LoginResult, *identity.Tenant) {
	tb.Helper()
	ctx := context.Background()
	name, email, pw := "T", "u@example.com", "long enough password"
	t, err := s.Admin.CreateTenant(ctx, identity.TenantInput{Name: &name})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Admin.CreateUser(ctx, t.ID, identity.UserInput{Email: &email, Password: &pw}); err != nil {
		tb.Fatal(err)
	}
	res, err := s.Auth.Login(ctx, identity.LoginRequest{TenantID: t.ID, Email: email, Password: pw, Client: identity.Client{Dialect: "test"}})
	if err != nil {
		tb.Fatal(err)
	}
	return res, t
}

// Ensure Logout revokes the session once, records account.logged-out, and
// is idempotent; a garbage token is ETOKENINVALID.
func TestLogout(t *testing.T) {
	s, db := MustService(t)
	ctx := context.Background()
	res, tn := MustLogin(t, s)
	if err := s.Auth.Logout(ctx, res.RefreshToken, identity.Client{Dialect: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Auth.Logout(ctx, res.RefreshToken, identity.Client{}); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if _, err := s.Auth.Refresh(ctx, res.RefreshToken, identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("refresh after logout: %v", err)
	}
	evs, _, _ := db.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventLoggedOut}, identity.Page{})
	if len(evs) != 1 {
		t.Fatalf("%d logged-out events, want 1", len(evs))
	}
	if err := s.Auth.Logout(ctx, "garbage", identity.Client{}); identity.ErrorCode(err) != identity.ETOKENINVALID {
		t.Fatalf("garbage logout: %v", err)
	}
}

// Ensure a refresh answered from the grace window is flagged, returns the
// same successor, and records no second logged-in event.
func TestRefreshGraceFlag(t *testing.T) {
	s, db := MustService(t)
	ctx := context.Background()
	res, tn := MustLogin(t, s)
	first, err := s.Auth.Refresh(ctx, res.RefreshToken, identity.Client{})
	if err != nil || first.Grace {
		t.Fatalf("first refresh: %+v, %v", first, err)
	}
	again, err := s.Auth.Refresh(ctx, res.RefreshToken, identity.Client{})
	if err != nil || !again.Grace || again.RefreshToken != first.RefreshToken || again.AccessToken == "" {
		t.Fatalf("grace refresh: %+v, %v", again, err)
	}
	evs, _, _ := db.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventLoggedIn}, identity.Page{})
	if len(evs) != 2 { // the login and the one rotation
		t.Fatalf("%d logged-in events, want 2", len(evs))
	}
}

// Ensure a missing tenant reference in a login is an EINVALID naming it,
// and a malformed tenant id too.
func TestLoginTenantReference(t *testing.T) {
	s, _ := MustService(t)
	ctx := context.Background()
	_, err := s.Auth.Login(ctx, identity.LoginRequest{Email: "a@example.com", Password: "whatever123"})
	if e := identity.AsError(err); e.Code != identity.EINVALID || e.Field != "tenant_id" {
		t.Fatalf("err = %v", err)
	}
	_, err = s.Auth.Login(ctx, identity.LoginRequest{TenantID: "nope", Email: "a@example.com", Password: "whatever123"})
	if identity.ErrorCode(err) != identity.EINVALID {
		t.Fatalf("err = %v", err)
	}
}

// Ensure a dialect without a second-factor field cannot log in a user with
// two-factor on, unless the tenant allows single-factor dialects; then the
// session's amr says a password alone was used.
func TestSingleFactorDialects(t *testing.T) {
	s, db := MustService(t)
	ctx := context.Background()
	_, tn := MustLogin(t, s)
	u, err := db.GetUserByEmail(ctx, tn.ID, "u@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SecondFactor.BeginTOTP(ctx, tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := db.GetTOTP(ctx, tn.ID, u.ID)
	plain, err := s.SecondFactor.Sealer.Open(c.SecretSealed, identity.TOTPSealAD(u.ID))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := mfa.CodeAt(string(plain), mfa.Step(time.Now()), mfa.Digits)
	if _, err := s.SecondFactor.ConfirmTOTP(ctx, tn.ID, u.ID, code); err != nil {
		t.Fatal(err)
	}
	req := identity.LoginRequest{TenantID: tn.ID, Email: "u@example.com", Password: "long enough password", NoSecondFactor: true}
	_, err = s.Auth.Login(ctx, req)
	if e := identity.AsError(err); e.Code != identity.ETWOFACTORREQUIRED || !strings.Contains(e.Message, "cannot carry") {
		t.Fatalf("single-factor dialect: %v", err)
	}
	allow := identity.TenantSettings{AllowSingleFactorDialects: true}
	if _, err := s.Admin.UpdateTenant(ctx, tn.ID, identity.TenantInput{Settings: &allow}); err != nil {
		t.Fatal(err)
	}
	res, err := s.Auth.Login(ctx, req)
	if err != nil || !slices.Equal(res.Session.AMR, []string{"pwd"}) {
		t.Fatalf("allowed single-factor dialect: %+v, %v", res, err)
	}
}

// Ensure a sealed TOTP secret opens only for its own user.
func TestTOTPSecretBoundToUser(t *testing.T) {
	s, _ := MustService(t)
	sealed := s.SecondFactor.Sealer.Seal([]byte("JBSWY3DPEHPK3PXP"), identity.TOTPSealAD("user-a"))
	if _, err := s.SecondFactor.Sealer.Open(sealed, identity.TOTPSealAD("user-b")); err == nil {
		t.Fatal("a secret sealed for one user opened for another")
	}
}
