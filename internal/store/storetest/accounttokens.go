package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func accountToken(u *identity.User, purpose, tok string, at time.Time) *identity.AccountToken {
	h := sha256.Sum256([]byte(tok))
	return &identity.AccountToken{Hash: h[:], TenantID: u.TenantID, UserID: u.ID, Purpose: purpose, EmailKey: identity.EmailKey(u.Email),
		CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

func mustCreateToken(tb testing.TB, s identity.Store, t *identity.AccountToken, events ...identity.Event) {
	tb.Helper()
	if err := s.CreateAccountToken(context.Background(), t, events); err != nil {
		tb.Fatalf("CreateAccountToken: %v", err)
	}
}

// Ensure a token is stored by its hash with its event and sealed copy, a
// newer one retires it, and an unknown user gets nothing written.
func testAccountTokens(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "ada@example.com")
	first := accountToken(u, identity.PurposePasswordReset, "one", base)
	ev := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, Type: identity.EventPasswordResetRequested, CreatedAt: base, Data: map[string]any{"ip": "192.0.2.1"}}
	first.EventID, first.Sealed = ev.ID, []byte("sealed")
	mustCreateToken(t, s, first, ev)
	got, err := s.GetAccountToken(ctx, first.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != u.ID || got.Purpose != identity.PurposePasswordReset || got.EmailKey != "ada@example.com" ||
		!got.ExpiresAt.Equal(base.Add(time.Hour)) || !got.SpentAt.IsZero() || got.EventID != ev.ID {
		t.Fatalf("token = %+v", got)
	}
	if sealed, err := s.SealedAccountToken(ctx, ev.ID); err != nil || !bytes.Equal(sealed, []byte("sealed")) {
		t.Fatalf("SealedAccountToken = %q, %v", sealed, err)
	}
	if evs, _, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventPasswordResetRequested}, identity.Page{}); err != nil || len(evs) != 1 {
		t.Fatalf("events = %d, %v; want the token's event", len(evs), err)
	}
	_, err = s.GetAccountToken(ctx, []byte("no such hash"))
	wantCode(t, err, identity.ENOTFOUND)

	// A verification token leaves the reset token alone; a newer reset
	// token retires it (and forgets its sealed copy).
	mustCreateToken(t, s, accountToken(u, identity.PurposeEmailVerification, "verify", base.Add(time.Second)))
	if got, _ := s.GetAccountToken(ctx, first.Hash); !got.SpentAt.IsZero() {
		t.Fatal("a verification token retired a reset token")
	}
	mustCreateToken(t, s, accountToken(u, identity.PurposePasswordReset, "two", base.Add(2*time.Second)))
	if got, _ := s.GetAccountToken(ctx, first.Hash); !got.SpentAt.Equal(base.Add(2 * time.Second)) {
		t.Fatalf("older token spent at %v, want retired by the newer one", got.SpentAt)
	}
	_, err = s.SealedAccountToken(ctx, ev.ID)
	wantCode(t, err, identity.ENOTFOUND)

	// Nobody: nothing written, not even the event.
	ghost := &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: "ghost@example.com"}
	gt := accountToken(ghost, identity.PurposePasswordReset, "ghost", base)
	gev := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: ghost.ID, Type: identity.EventPasswordResetRequested, CreatedAt: base}
	wantCode(t, s.CreateAccountToken(ctx, gt, []identity.Event{gev}), identity.ENOTFOUND)
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{UserID: ghost.ID}, identity.Page{}); len(evs) != 0 {
		t.Fatal("a token for nobody wrote its event")
	}
	_, err = s.GetAccountToken(ctx, gt.Hash)
	wantCode(t, err, identity.ENOTFOUND)

	// Deleting the user deletes its tokens.
	if err := s.DeleteUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetAccountToken(ctx, accountToken(u, "", "two", base).Hash)
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure spending a reset token sets the password, revokes every session
// and retires the other reset tokens, once; an expired token, a token of
// another purpose and a token whose user changed email are not spent.
func testAccountTokenSpend(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "ada@example.com")
	MustCreateSession(t, s, u, base)
	grant := loginSession(u, base)
	grant.Kind, grant.DeviceName = identity.SessionReauth, "phone"
	if err := s.CreateSession(ctx, grant, identity.SessionWrite{}); err != nil {
		t.Fatal(err)
	}
	tok := accountToken(u, identity.PurposePasswordReset, "reset", base)
	mustCreateToken(t, s, tok)
	now := base.Add(time.Minute)

	wantCode(t, s.SpendAccountToken(ctx, tok.Hash, identity.PurposeEmailVerification, now, "", nil), identity.ENOTFOUND)
	wantCode(t, s.SpendAccountToken(ctx, tok.Hash, identity.PurposePasswordReset, base.Add(time.Hour), "$new", nil), identity.ENOTFOUND)

	ev := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, Type: identity.EventPasswordReset, CreatedAt: now}
	if err := s.SpendAccountToken(ctx, tok.Hash, identity.PurposePasswordReset, now, "$new", []identity.Event{ev}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetUser(ctx, tn.ID, u.ID)
	if got.PasswordHash != "$new" {
		t.Fatalf("password hash = %q", got.PasswordHash)
	}
	if n := LiveSessions(t, s, u); n != 0 {
		t.Fatalf("%d live sessions after a reset, want 0 (grants included)", n)
	}
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventPasswordReset}, identity.Page{}); len(evs) != 1 {
		t.Fatalf("%d password.reset events, want 1", len(evs))
	}
	wantCode(t, s.SpendAccountToken(ctx, tok.Hash, identity.PurposePasswordReset, now, "$again", nil), identity.ENOTFOUND)

	// A verification token proves only the address it was sent to.
	v := accountToken(got, identity.PurposeEmailVerification, "verify", now)
	mustCreateToken(t, s, v)
	got.Email, got.UpdatedAt = "lovelace@example.com", now
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SpendAccountToken(ctx, v.Hash, identity.PurposeEmailVerification, now, "", nil), identity.ENOTFOUND)
	v2 := accountToken(got, identity.PurposeEmailVerification, "verify2", now)
	mustCreateToken(t, s, v2)
	if err := s.SpendAccountToken(ctx, v2.Hash, identity.PurposeEmailVerification, now, "", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, tn.ID, u.ID); !got.EmailVerified || got.PasswordHash != "$new" {
		t.Fatalf("after verification: verified %v, hash %q", got.EmailVerified, got.PasswordHash)
	}
}

// Ensure a password change through UpdateUser retires outstanding reset
// tokens, and a write that keeps the hash does not.
func testPasswordChangeRetiresResetTokens(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "ada@example.com")
	tok := accountToken(u, identity.PurposePasswordReset, "reset", base)
	mustCreateToken(t, s, tok)
	u.FirstName, u.UpdatedAt = "Augusta", base.Add(time.Second)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetAccountToken(ctx, tok.Hash); !got.SpentAt.IsZero() {
		t.Fatal("an update that kept the password retired the reset token")
	}
	u.PasswordHash, u.UpdatedAt = "$changed", base.Add(2*time.Second)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.SpendAccountToken(ctx, tok.Hash, identity.PurposePasswordReset, base.Add(3*time.Second), "$reset", nil), identity.ENOTFOUND)
}

// Ensure that of concurrent spends of one token exactly one wins.
func testAccountTokenSpendConcurrent(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "ada@example.com")
	tok := accountToken(u, identity.PurposePasswordReset, "reset", base)
	mustCreateToken(t, s, tok)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.SpendAccountToken(ctx, tok.Hash, identity.PurposePasswordReset, base.Add(time.Minute), "$new", nil)
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch identity.ErrorCode(err) {
		case "":
			won++
		case identity.ENOTFOUND:
		default:
			t.Fatalf("concurrent spend: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of %d concurrent spends won, want exactly 1", won, n)
	}
}
