package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// loginSession is a session as a password login writes it, at at.
func loginSession(u *identity.User, at time.Time) *identity.Session {
	return &identity.Session{ID: identity.NewID(), TenantID: u.TenantID, UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		LastSeenAt: at, RotatedAt: at, IP: "192.0.2.1", Dialect: "accounts-v3", AMR: []string{"pwd"}}
}

// LiveSessions counts the user's sessions that are not revoked.
func LiveSessions(tb testing.TB, s identity.Store, u *identity.User) int {
	tb.Helper()
	list, _, err := s.ListUserSessions(context.Background(), u.TenantID, u.ID, identity.Page{Limit: 500})
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, x := range list {
		if !x.Revoked() {
			n++
		}
	}
	return n
}

// Ensure a login's write is a compare-and-swap on the user it checked:
// with another hash or status stored, it answers ECONFLICT and writes
// nothing (no session, no event, no rehash, no known address).
func testLoginWriteConditional(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "cas-login@example.com")
	checked := *u
	changedUser := *u
	changedUser.PasswordHash, changedUser.UpdatedAt = "$argon2id$changed-by-admin", base.Add(time.Minute)
	if err := s.UpdateUser(ctx, &changedUser); err != nil {
		t.Fatal(err)
	}
	at := base.Add(2 * time.Minute)
	sess := loginSession(u, at)
	ev := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, SessionID: sess.ID, Type: identity.EventLoggedIn, CreatedAt: at}
	err := s.CreateSession(ctx, sess, identity.SessionWrite{Checked: &checked, NewPasswordHash: "$argon2id$rehash-of-old",
		KnownAddress: "192.0.2.1", Events: []identity.Event{ev}})
	wantCode(t, err, identity.ECONFLICT)
	_, err = s.GetSession(ctx, sess.ID)
	wantCode(t, err, identity.ENOTFOUND)
	got, _ := s.GetUser(ctx, tn.ID, u.ID)
	if got.PasswordHash != "$argon2id$changed-by-admin" || !got.LastLoginAt.IsZero() {
		t.Fatalf("a refused login wrote the user: hash %q, last login %v", got.PasswordHash, got.LastLoginAt)
	}
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventLoggedIn}, identity.Page{}); len(evs) != 0 {
		t.Fatalf("a refused login recorded %d events", len(evs))
	}
	if known, _ := s.KnownAddress(ctx, u.ID, "192.0.2.1", base); known {
		t.Fatal("a refused login remembered its address")
	}
	// A disabled user is refused the same way.
	got.Status, got.UpdatedAt = identity.StatusDisabled, base.Add(3*time.Minute)
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	active := *got
	active.Status = identity.StatusActive
	wantCode(t, s.CreateSession(ctx, loginSession(u, at), identity.SessionWrite{Checked: &active}), identity.ECONFLICT)
	// As checked, it goes through, and a rehash replaces the hash.
	got.Status, got.UpdatedAt = identity.StatusActive, base.Add(4*time.Minute)
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, loginSession(u, at), identity.SessionWrite{Checked: got, NewPasswordHash: "$argon2id$rehashed"}); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.GetUser(ctx, tn.ID, u.ID); again.PasswordHash != "$argon2id$rehashed" || !again.LastLoginAt.Equal(at) {
		t.Fatalf("after a login as checked: hash %q, last login %v", again.PasswordHash, again.LastLoginAt)
	}
}

// Ensure a login that rehashes the old password, racing an admin's
// password change, never undoes the change: whichever commits first, the
// admin's hash is the one stored afterwards and no session of the login
// is left live (it was refused, or the change revoked it).
func testLoginRacesPasswordChange(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	for round := range 12 {
		u := MustCreateUser(t, s, tn.ID, fmt.Sprintf("race%d@example.com", round))
		checked := *u
		var wg sync.WaitGroup
		var loginErr, changeErr error
		newHash := fmt.Sprintf("$argon2id$admin-%d", round)
		wg.Go(func() {
			loginErr = s.CreateSession(ctx, loginSession(u, base.Add(time.Hour)), identity.SessionWrite{Checked: &checked, NewPasswordHash: "$argon2id$rehash-of-old"})
		})
		wg.Go(func() {
			v := *u
			v.PasswordHash, v.UpdatedAt = newHash, base.Add(time.Hour)
			changeErr = s.UpdateUser(ctx, &v)
		})
		wg.Wait()
		if changeErr != nil {
			t.Fatal(changeErr)
		}
		if loginErr != nil && identity.ErrorCode(loginErr) != identity.ECONFLICT {
			t.Fatalf("round %d: login: %v", round, loginErr)
		}
		got, _ := s.GetUser(ctx, tn.ID, u.ID)
		if got.PasswordHash != newHash {
			t.Fatalf("round %d: the login wrote %q over the admin's new password", round, got.PasswordHash)
		}
		if n := LiveSessions(t, s, u); n != 0 {
			t.Fatalf("round %d: %d sessions of the old password survived the change (login err %v)", round, n, loginErr)
		}
	}
}

// Ensure a user has at most one live re-authentication grant per device,
// however many logins asking for one run at once, and that each of them
// succeeds (the last one's grant is the live one).
func testOneGrantPerDevice(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "grants@example.com")
	grant := func(device string, at time.Time) *identity.Session {
		return &identity.Session{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, Kind: identity.SessionReauth, DeviceName: device,
			CreatedAt: at, ExpiresAt: at.Add(time.Hour), LastSeenAt: at, RotatedAt: at, Dialect: "token-login"}
	}
	const logins = 12
	wins := concurrently(t, logins, func() (bool, error) {
		err := s.CreateSession(ctx, loginSession(u, base), identity.SessionWrite{Checked: u, Grant: grant("phone", base)})
		return err == nil, err
	})
	if wins != logins {
		t.Fatalf("%d of %d concurrent logins succeeded", wins, logins)
	}
	other := grant("tablet", base)
	if err := s.CreateSession(ctx, other, identity.SessionWrite{}); err != nil {
		t.Fatal(err)
	}
	list, _, _ := s.ListUserSessions(ctx, tn.ID, u.ID, identity.Page{})
	live := map[string]int{}
	for _, x := range list {
		if x.Kind == identity.SessionReauth && !x.Revoked() {
			live[x.DeviceName]++
		} else if x.Kind == identity.SessionReauth && x.RevokeReason != identity.ReasonGrantReplaced {
			t.Fatalf("grant revoked for %q", x.RevokeReason)
		}
	}
	if live["phone"] != 1 || live["tablet"] != 1 {
		t.Fatalf("live grants per device: %v, want one each", live)
	}
}

// Ensure a login remembers its address for the user, that KnownAddress
// answers by user, address and age, and that a user keeps only its
// KnownAddressesPerUser most recent addresses of the last
// KnownAddressLifetime.
func testKnownAddresses(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "known@example.com")
	v := MustCreateUser(t, s, tn.ID, "other@example.com")
	login := func(addr string, at time.Time) {
		t.Helper()
		if err := s.CreateSession(ctx, loginSession(u, at), identity.SessionWrite{KnownAddress: addr}); err != nil {
			t.Fatal(err)
		}
	}
	known := func(user *identity.User, addr string, since time.Time) bool {
		t.Helper()
		k, err := s.KnownAddress(ctx, user.ID, addr, since)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	login("192.0.2.1", base)
	login("2001:db8:1:2::/64", base.Add(time.Minute))
	switch {
	case !known(u, "192.0.2.1", base), !known(u, "2001:db8:1:2::/64", base):
		t.Fatal("a login's address is not known")
	case known(u, "192.0.2.1", base.Add(time.Second)):
		t.Fatal("an address is known after its last login")
	case known(u, "192.0.2.2", base), known(v, "192.0.2.1", base), known(&identity.User{}, "192.0.2.1", base):
		t.Fatal("an address is known for the wrong address or user")
	}
	login("192.0.2.1", base.Add(2*time.Minute)) // again: its time moves
	if !known(u, "192.0.2.1", base.Add(2*time.Minute)) {
		t.Fatal("a second login did not refresh the address")
	}
	// Many more addresses: only the most recent are kept.
	at := base.Add(time.Hour)
	for i := range identity.KnownAddressesPerUser + 5 {
		login(fmt.Sprintf("198.51.100.%d", i), at.Add(time.Duration(i)*time.Minute))
	}
	if known(u, "198.51.100.0", base) || known(u, "192.0.2.1", base) {
		t.Fatal("more than KnownAddressesPerUser addresses kept")
	}
	if !known(u, fmt.Sprintf("198.51.100.%d", identity.KnownAddressesPerUser+4), base) || !known(u, "198.51.100.5", base) {
		t.Fatal("a recent address was forgotten")
	}
	// A login after the lifetime forgets what is older than it.
	login("203.0.113.1", at.Add(identity.KnownAddressLifetime+time.Hour))
	if known(u, "198.51.100.24", base) {
		t.Fatal("an address older than KnownAddressLifetime was kept")
	}
	if err := s.DeleteUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatalf("DeleteUser with known addresses: %v", err)
	}
}

// Ensure user names are optional, unique per tenant compared case-
// insensitively after trimming, found by GetUserByUsername and the list
// filter, and free again once cleared.
func testUsernames(t *testing.T, s identity.Store) {
	ctx := context.Background()
	a, b := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, a.ID, "named@example.com")
	MustCreateUser(t, s, a.ID, "unnamed1@example.com") // many users without a name
	MustCreateUser(t, s, a.ID, "unnamed2@example.com")
	u.Username, u.UpdatedAt = "Ada.L", base.Add(time.Minute)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUserByUsername(ctx, a.ID, "  ada.l ")
	if err != nil || got.ID != u.ID || got.Username != "Ada.L" {
		t.Fatalf("GetUserByUsername = %+v, %v", got, err)
	}
	_, err = s.GetUserByUsername(ctx, b.ID, "ada.l")
	wantCode(t, err, identity.ENOTFOUND)
	_, err = s.GetUserByUsername(ctx, a.ID, "")
	wantCode(t, err, identity.ENOTFOUND)
	dup := &identity.User{ID: identity.NewID(), TenantID: a.ID, Email: "dup@example.com", Username: "ADA.l", Status: "active", CreatedAt: base, UpdatedAt: base}
	err = s.CreateUser(ctx, dup)
	wantCode(t, err, identity.ECONFLICT)
	if f := identity.AsError(err).Field; f != "username" {
		t.Fatalf("conflict names %q, want username", f)
	}
	dup.TenantID = b.ID // another tenant may have the same name
	if err := s.CreateUser(ctx, dup); err != nil {
		t.Fatal(err)
	}
	list, _, err := s.ListUsers(ctx, a.ID, identity.UserFilter{Username: "ADA.L"}, identity.Page{})
	if err != nil || len(list) != 1 || list[0].ID != u.ID {
		t.Fatalf("username filter = %v, %v", list, err)
	}
	u.Username = ""
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUserByUsername(ctx, a.ID, "ada.l"); identity.ErrorCode(err) != identity.ENOTFOUND {
		t.Fatalf("a cleared name still finds the user: %v", err)
	}
	other := &identity.User{ID: identity.NewID(), TenantID: a.ID, Email: "taker@example.com", Username: "ada.l", Status: "active", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, other); err != nil {
		t.Fatalf("a cleared name is not free: %v", err)
	}
}

// WantSecurityUpgrade checks a store opened on a database of the previous
// schema, upgraded at now by the security migration, whose user "u" had
// sessions "recent" from 198.51.100.7 a day before, "old" from
// 198.51.100.8 40 days before, "v6" from 2001:db8::1 an hour before (an
// address the migration cannot key), and two grants of device "phone",
// "grant-old" and "grant-new": the recent address is known, the others
// not, and only the newer grant is live.
func WantSecurityUpgrade(t *testing.T, s identity.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for addr, want := range map[string]bool{"198.51.100.7": true, "198.51.100.8": false, "2001:db8::1": false} {
		if known, err := s.KnownAddress(ctx, "u", addr, now.Add(-identity.KnownAddressLifetime)); err != nil || known != want {
			t.Errorf("known %s = %v, %v; want %v", addr, known, err, want)
		}
	}
	for id, revoked := range map[string]bool{"grant-old": true, "grant-new": false} {
		if sess, err := s.GetSession(ctx, id); err != nil || sess.Revoked() != revoked {
			t.Errorf("%s revoked = %v, %v; want %v", id, sess.Revoked(), err, revoked)
		}
	}
}
