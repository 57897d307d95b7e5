package storetest

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func mustPending(tb testing.TB, s identity.Store, u *identity.User, secret string) {
	tb.Helper()
	c := &identity.TOTPCredential{UserID: u.ID, TenantID: u.TenantID, SecretSealed: []byte(secret), CreatedAt: base}
	if err := s.PutPendingTOTP(context.Background(), c); err != nil {
		tb.Fatalf("PutPendingTOTP: %v", err)
	}
}

func hashes(n int, tag string) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, []byte{byte(i), tag[0], 0xAA})
	}
	return out
}

func twoFactorOn(tb testing.TB, s identity.Store, u *identity.User) bool {
	tb.Helper()
	got, err := s.GetUser(context.Background(), u.TenantID, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return got.TwoFactorEnabled
}

// Ensure an enrolment is pending until confirmed, only a confirmed one
// turns the user's flag on, and deletion turns it off again.
func testTOTPEnrolment(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "totp@example.com")
	err := s.PutPendingTOTP(ctx, &identity.TOTPCredential{UserID: identity.NewID(), TenantID: tn.ID, SecretSealed: []byte("x"), CreatedAt: base})
	wantCode(t, err, identity.ENOTFOUND)
	_, err = s.GetTOTP(ctx, tn.ID, u.ID)
	wantCode(t, err, identity.ENOTFOUND)
	wantCode(t, s.ConfirmTOTP(ctx, tn.ID, u.ID, 1, nil, base), identity.ENOTFOUND)

	mustPending(t, s, u, "first")
	mustPending(t, s, u, "second") // a new pending enrolment replaces the old
	c, err := s.GetTOTP(ctx, tn.ID, u.ID)
	if err != nil || string(c.SecretSealed) != "second" || c.Confirmed() || !c.CreatedAt.Equal(base) {
		t.Fatalf("GetTOTP = %+v, %v", c, err)
	}
	if twoFactorOn(t, s, u) {
		t.Fatal("two-factor on while pending")
	}
	if _, err := s.GetTOTP(ctx, MustCreateTenant(t, s, "").ID, u.ID); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("another tenant sees the enrolment: %v", err)
	}

	if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, 42, hashes(10, "a"), base.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	c, _ = s.GetTOTP(ctx, tn.ID, u.ID)
	if !c.Confirmed() || c.LastStep != 42 || c.RecoveryLeft != 10 || !c.ConfirmedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("after confirm: %+v", c)
	}
	if !twoFactorOn(t, s, u) {
		t.Fatal("two-factor off after confirm")
	}
	wantCode(t, s.ConfirmTOTP(ctx, tn.ID, u.ID, 43, nil, base), identity.ECONFLICT)
	wantCode(t, s.PutPendingTOTP(ctx, &identity.TOTPCredential{UserID: u.ID, TenantID: tn.ID, SecretSealed: []byte("x"), CreatedAt: base}), identity.ECONFLICT)

	// A plain user update cannot switch the flag either way.
	got, _ := s.GetUser(ctx, tn.ID, u.ID)
	got.TwoFactorEnabled, got.FirstName = false, "Changed"
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	if !twoFactorOn(t, s, u) {
		t.Fatal("UpdateUser turned two-factor off")
	}

	if ok, err := s.DeleteTOTP(ctx, tn.ID, u.ID); !ok || err != nil {
		t.Fatalf("DeleteTOTP = %v, %v", ok, err)
	}
	if twoFactorOn(t, s, u) {
		t.Fatal("two-factor on after delete")
	}
	if ok, err := s.DeleteTOTP(ctx, tn.ID, u.ID); ok || err != nil {
		t.Fatalf("second DeleteTOTP = %v, %v", ok, err)
	}
	if used, _ := s.UseRecoveryCode(ctx, u.ID, hashes(1, "a")[0], base); used {
		t.Fatal("a recovery code survived DeleteTOTP")
	}
}

// Ensure a time step is accepted once: of concurrent callers presenting
// the same step exactly one wins, and older steps are refused.
func testTOTPStepCAS(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "step@example.com")
	mustPending(t, s, u, "s")
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 100); ok {
		t.Fatal("a pending enrolment accepted a step")
	}
	if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, 100, hashes(10, "b"), base); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 100); ok {
		t.Fatal("the confirming step was accepted again")
	}
	if wins := concurrently(t, 16, func() (bool, error) { return s.UseTOTPStep(ctx, u.ID, 101) }); wins != 1 {
		t.Fatalf("%d concurrent callers accepted step 101, want 1", wins)
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 99); ok {
		t.Fatal("an older step was accepted")
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 103); !ok {
		t.Fatal("a newer step was refused")
	}
}

// Ensure each recovery code works once, even under concurrency, and that
// replacing the codes invalidates the old ones.
func testRecoveryCodes(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "rc@example.com")
	wantCode(t, s.ReplaceRecoveryCodes(ctx, tn.ID, u.ID, hashes(10, "c")), identity.ENOTFOUND)
	mustPending(t, s, u, "s")
	wantCode(t, s.ReplaceRecoveryCodes(ctx, tn.ID, u.ID, hashes(10, "c")), identity.ENOTFOUND)
	old := hashes(10, "c")
	if err := s.ConfirmTOTP(ctx, tn.ID, u.ID, 1, old, base); err != nil {
		t.Fatal(err)
	}
	if wins := concurrently(t, 16, func() (bool, error) { return s.UseRecoveryCode(ctx, u.ID, old[3], base) }); wins != 1 {
		t.Fatalf("recovery code used %d times, want 1", wins)
	}
	if c, _ := s.GetTOTP(ctx, tn.ID, u.ID); c.RecoveryLeft != 9 {
		t.Fatalf("RecoveryLeft = %d, want 9", c.RecoveryLeft)
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, []byte("unknown"), base); ok {
		t.Fatal("an unknown code was accepted")
	}
	other := MustCreateUser(t, s, tn.ID, "rc2@example.com")
	if ok, _ := s.UseRecoveryCode(ctx, other.ID, old[4], base); ok {
		t.Fatal("another user's code was accepted")
	}
	fresh := hashes(10, "d")
	if err := s.ReplaceRecoveryCodes(ctx, tn.ID, u.ID, fresh); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, old[5], base); ok {
		t.Fatal("a replaced code was accepted")
	}
	if ok, _ := s.UseRecoveryCode(ctx, u.ID, fresh[0], base); !ok {
		t.Fatal("a new code was refused")
	}
	if bytes.Equal(fresh[0], old[0]) {
		t.Fatal("test hashes collide")
	}
}

// Ensure the attempt counter hands admit the user's attempts of the
// period (oldest first, with their addresses), counts one only when admit
// says so, forgets what is older than since, clears per address or all,
// and judges concurrent attempts one after the other.
func testSecondFactorAttempts(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "guess@example.com")
	take := func(addr string, at time.Time, admit func([]identity.SecondFactorAttempt) bool) bool {
		t.Helper()
		ok, err := s.TakeSecondFactorAttempt(ctx, u.ID, addr, at, at.Add(-time.Hour), admit)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	yes := func([]identity.SecondFactorAttempt) bool { return true }
	for i, addr := range []string{"192.0.2.1", "192.0.2.1", "2001:db8::/64"} {
		if !take(addr, base.Add(time.Duration(i)*time.Minute), yes) {
			t.Fatalf("attempt %d not counted", i)
		}
	}
	var seen []identity.SecondFactorAttempt
	if take("192.0.2.1", base.Add(10*time.Minute), func(h []identity.SecondFactorAttempt) bool { seen = h; return false }) {
		t.Fatal("counted although admit said no")
	}
	want := []identity.SecondFactorAttempt{{Address: "192.0.2.1", At: base.UTC()}, {Address: "192.0.2.1", At: base.Add(time.Minute).UTC()},
		{Address: "2001:db8::/64", At: base.Add(2 * time.Minute).UTC()}}
	if !reflect.DeepEqual(seen, want) {
		t.Fatalf("history %+v, want %+v", seen, want)
	}
	// An hour and a minute later, the first attempt is forgotten.
	take("192.0.2.1", base.Add(61*time.Minute), func(h []identity.SecondFactorAttempt) bool { seen = h; return false })
	if len(seen) != 2 {
		t.Fatalf("history after an hour: %+v", seen)
	}
	if err := s.ClearSecondFactorAttempts(ctx, u.ID, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	take("192.0.2.1", base.Add(61*time.Minute), func(h []identity.SecondFactorAttempt) bool { seen = h; return false })
	if len(seen) != 1 || seen[0].Address != "2001:db8::/64" {
		t.Fatalf("after clearing one address: %+v", seen)
	}
	if err := s.ClearSecondFactorAttempts(ctx, u.ID, ""); err != nil {
		t.Fatal(err)
	}
	// Twenty at once, each admitted while fewer than five are counted:
	// exactly five get in.
	at := base.Add(2 * time.Hour)
	wins := concurrently(t, 20, func() (bool, error) {
		return s.TakeSecondFactorAttempt(ctx, u.ID, "192.0.2.9", at, at.Add(-time.Hour), func(h []identity.SecondFactorAttempt) bool { return len(h) < 5 })
	})
	if wins != 5 {
		t.Fatalf("%d of 20 concurrent attempts admitted, want 5", wins)
	}
	_, err := s.TakeSecondFactorAttempt(ctx, identity.NewID(), "x", at, at, yes)
	wantCode(t, err, identity.ENOTFOUND)
	if err := s.DeleteUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatalf("DeleteUser with counted attempts: %v", err)
	}
}
