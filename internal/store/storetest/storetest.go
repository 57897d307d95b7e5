// Package storetest is the conformance suite every latch store must pass.
// A store's own test calls Run with a function that opens a fresh, isolated
// store; each subtest states one promise of the identity store interfaces.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Run runs every conformance test against stores made by open. open must
// return an empty store of its own (its own file, schema or database) and
// arrange for it to be closed when the test ends.
func Run(t *testing.T, open func(t *testing.T) identity.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, identity.Store)
	}{
		{"TenantCRUD", testTenantCRUD},
		{"TenantAliasUnique", testTenantAliasUnique},
		{"UserCRUD", testUserCRUD},
		{"UserEmailUniquePerTenant", testUserEmailUnique},
		{"UserList", testUserList},
		{"Organisations", testOrganisations},
		{"SessionCreateWritesEventAndLogin", testSessionCreate},
		{"SessionAdvanceIsCompareAndSwap", testSessionAdvanceCAS},
		{"SessionAdvanceConcurrent", testSessionAdvanceConcurrent},
		{"SessionRevoke", testSessionRevoke},
		{"DisablingUserRevokesSessions", testDisableRevokes},
		{"PasswordChangeRevokesSessions", testPasswordChangeRevokes},
		{"TimesAreUTC", testTimesUTC},
		{"TenantDeleteCascades", testTenantDeleteCascades},
		{"Events", testEvents},
		{"APIKeys", testAPIKeys},
		{"SigningKeys", testSigningKeys},
		{"TOTPEnrolment", testTOTPEnrolment},
		{"TOTPStepIsCompareAndSwap", testTOTPStepCAS},
		{"RecoveryCodesSingleUse", testRecoveryCodes},
		{"SecondFactorAttempts", testSecondFactorAttempts},
		{"SessionWithOwners", testSessionOwners},
		{"UserLastSeenIsCoarse", testUserLastSeenCoarse},
		{"FirstSigningKeyOnce", testFirstSigningKey},
		{"DeviceSessions", testDeviceSessions},
		{"WebhookCRUD", testWebhookCRUD},
		{"WebhookEventLog", testWebhookEventLog},
		{"WebhookEventLogConcurrent", testWebhookEventLogConcurrent},
		{"WebhookClaimAndCursor", testWebhookClaimAndCursor},
		{"WebhookAttemptsAndHealth", testWebhookAttemptsAndHealth},
		{"EventRetention", testEventRetention},
		{"LoginWriteIsConditional", testLoginWriteConditional},
		{"LoginRacesPasswordChange", testLoginRacesPasswordChange},
		{"OneGrantPerDevice", testOneGrantPerDevice},
		{"KnownAddresses", testKnownAddresses},
		{"Usernames", testUsernames},
		{"TextColumns", testTextColumns},
		{"ConsoleSessions", testConsoleSessions},
		{"UserEmailPrefix", testUserEmailPrefix},
		{"EventsByTime", testEventsByTime},
		{"Redeliver", testRedeliver},
		{"ImportUsers", testImportUsers},
		{"AccountTokens", testAccountTokens},
		{"AccountTokenSpend", testAccountTokenSpend},
		{"PasswordChangeRetiresResetTokens", testPasswordChangeRetiresResetTokens},
		{"AccountTokenSpendConcurrent", testAccountTokenSpendConcurrent},
		{"MigratedUsers", testMigratedUsers},
		{"WritesTakeEvents", testWritesTakeEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed instant with sub-second precision in a non-UTC zone, so
// that stores must both keep microseconds and normalise to UTC.
var base = time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.FixedZone("CET", 3600))

func MustCreateTenant(tb testing.TB, s identity.Store, alias string) *identity.Tenant {
	tb.Helper()
	t := &identity.Tenant{ID: identity.NewID(), Name: "Tenant " + alias, Alias: alias, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateTenant(context.Background(), t); err != nil {
		tb.Fatalf("CreateTenant: %v", err)
	}
	return t
}

func MustCreateUser(tb testing.TB, s identity.Store, tenantID, email string) *identity.User {
	tb.Helper()
	u := &identity.User{
		ID: identity.NewID(), TenantID: tenantID, Email: email, PasswordHash: "$argon2id$x", FirstName: "Ada",
		LastName: "Lovelace", Role: "admin", Roles: []string{"admin", "user"}, Status: identity.StatusActive,
		Tags: []string{"vip"}, Metadata: []identity.MetadataItem{{ID: "m1", Key: "plan", Value: "pro", Visible: true,
			ViewPermissions: []string{"activation"}, CreatedAt: base.UTC(), UpdatedAt: base.UTC()}},
		Profile: map[string]any{"company": "Analytical Engines", "language": "en"}, CreatedAt: base, UpdatedAt: base,
	}
	if err := s.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("CreateUser: %v", err)
	}
	return u
}

func MustCreateSession(tb testing.TB, s identity.Store, u *identity.User, at time.Time) *identity.Session {
	tb.Helper()
	sess := &identity.Session{
		ID: identity.NewID(), TenantID: u.TenantID, UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		LastSeenAt: at, RotatedAt: at, UserAgent: "test/1", Origin: "https://app.example", IP: "192.0.2.1",
		Dialect: "accounts-v3", AMR: []string{"pwd"},
	}
	if err := s.CreateSession(context.Background(), sess, identity.SessionWrite{}); err != nil {
		tb.Fatalf("CreateSession: %v", err)
	}
	return sess
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := identity.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// concurrently runs f on n goroutines at once and counts the calls that
// report true; an error fails the test.
func concurrently(t *testing.T, n int, f func() (bool, error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			ok, err := f()
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	return int(wins.Load())
}

func unique(prefix string) string { return fmt.Sprintf("%s-%s", prefix, identity.NewID()[24:]) }

// Ensure tenants can be created, read by id and alias, updated, listed and deleted.
func testTenantCRUD(t *testing.T, s identity.Store) {
	ctx := context.Background()
	alias := unique("acme")
	tn := MustCreateTenant(t, s, alias)
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil || got.Name != tn.Name || got.Alias != alias {
		t.Fatalf("GetTenant = %+v, %v", got, err)
	}
	if got, err := s.GetTenantByAlias(ctx, alias); err != nil || got.ID != tn.ID {
		t.Fatalf("GetTenantByAlias = %+v, %v", got, err)
	}
	tn.Name, tn.Settings.RefreshGraceSeconds, tn.UpdatedAt = "Renamed", 30, base.Add(time.Minute)
	if err := s.UpdateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTenant(ctx, tn.ID); got.Name != "Renamed" || got.Settings.RefreshGraceSeconds != 30 {
		t.Fatalf("after update: %+v", got)
	}
	noAlias := MustCreateTenant(t, s, "")
	other := MustCreateTenant(t, s, "")
	list, next, err := s.ListTenants(ctx, identity.Page{Limit: 2})
	if err != nil || len(list) != 2 || next == "" {
		t.Fatalf("ListTenants page 1 = %d, %q, %v", len(list), next, err)
	}
	rest, next2, err := s.ListTenants(ctx, identity.Page{Limit: 2, Cursor: next})
	if err != nil || len(rest) != 1 || next2 != "" || rest[0].ID != other.ID {
		t.Fatalf("ListTenants page 2 = %d, %q, %v", len(rest), next2, err)
	}
	_, _, err = s.ListTenants(ctx, identity.Page{Cursor: "!!"})
	wantCode(t, err, identity.EINVALID)
	if err := s.DeleteTenant(ctx, noAlias.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTenant(ctx, noAlias.ID)
	wantCode(t, err, identity.ENOTFOUND)
	wantCode(t, s.DeleteTenant(ctx, noAlias.ID), identity.ENOTFOUND)
	wantCode(t, s.UpdateTenant(ctx, noAlias), identity.ENOTFOUND)
	_, err = s.GetTenantByAlias(ctx, "nope")
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure two tenants cannot share an alias, while many may have none.
func testTenantAliasUnique(t *testing.T, s identity.Store) {
	alias := unique("dup")
	MustCreateTenant(t, s, alias)
	MustCreateTenant(t, s, "")
	MustCreateTenant(t, s, "")
	dup := &identity.Tenant{ID: identity.NewID(), Name: "x", Alias: alias, CreatedAt: base, UpdatedAt: base}
	wantCode(t, s.CreateTenant(context.Background(), dup), identity.ECONFLICT)
}

// Ensure every user field survives a round trip, and update/delete work.
func testUserCRUD(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "Ada@Example.com")
	got, err := s.GetUser(ctx, tn.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "Ada@Example.com" || got.FirstName != "Ada" || got.Role != "admin" || len(got.Roles) != 2 ||
		got.Status != identity.StatusActive || len(got.Tags) != 1 || got.Profile["company"] != "Analytical Engines" ||
		len(got.Metadata) != 1 || got.Metadata[0].Key != "plan" || !got.Metadata[0].Visible || got.PasswordHash != "$argon2id$x" {
		t.Fatalf("round trip lost data: %+v", got)
	}
	if !got.LastLoginAt.IsZero() {
		t.Fatal("LastLoginAt should be zero before any login")
	}
	got.FirstName, got.Profile, got.UpdatedAt = "Augusta", map[string]any{"market": "se"}, base.Add(time.Hour)
	if err := s.UpdateUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.GetUser(ctx, tn.ID, u.ID)
	if again.FirstName != "Augusta" || again.Profile["market"] != "se" || again.Profile["company"] != nil {
		t.Fatalf("after update: %+v", again)
	}
	// A user is invisible through another tenant.
	other := MustCreateTenant(t, s, "")
	_, err = s.GetUser(ctx, other.ID, u.ID)
	wantCode(t, err, identity.ENOTFOUND)
	wantCode(t, s.DeleteUser(ctx, other.ID, u.ID), identity.ENOTFOUND)
	if err := s.DeleteUser(ctx, tn.ID, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetUser(ctx, tn.ID, u.ID)
	wantCode(t, err, identity.ENOTFOUND)
	// A user in a tenant that does not exist is refused.
	ghost := &identity.User{ID: identity.NewID(), TenantID: identity.NewID(), Email: "x@example.com", Status: "active", CreatedAt: base, UpdatedAt: base}
	wantCode(t, s.CreateUser(ctx, ghost), identity.ENOTFOUND)
}

// Ensure emails are unique per tenant, compared case-insensitively after
// trimming, and free to repeat across tenants.
func testUserEmailUnique(t *testing.T, s identity.Store) {
	ctx := context.Background()
	a, b := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, a.ID, "grace@example.com")
	dup := &identity.User{ID: identity.NewID(), TenantID: a.ID, Email: "  GRACE@Example.COM ", Status: "active", CreatedAt: base, UpdatedAt: base}
	err := s.CreateUser(ctx, dup)
	wantCode(t, err, identity.ECONFLICT)
	MustCreateUser(t, s, b.ID, "grace@example.com")
	got, err := s.GetUserByEmail(ctx, a.ID, " Grace@EXAMPLE.com")
	if err != nil || got.ID != u.ID {
		t.Fatalf("GetUserByEmail = %+v, %v", got, err)
	}
	// Renaming another user onto a taken email conflicts too.
	v := MustCreateUser(t, s, a.ID, "hopper@example.com")
	v.Email = "GRACE@example.com"
	wantCode(t, s.UpdateUser(ctx, v), identity.ECONFLICT)
}

// Ensure users list in creation order with cursors and the email filter.
func testUserList(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	var ids []string
	for i := range 5 {
		ids = append(ids, MustCreateUser(t, s, tn.ID, fmt.Sprintf("u%d@example.com", i)).ID)
	}
	var seen []string
	cursor := ""
	for range 10 {
		page, next, err := s.ListUsers(ctx, tn.ID, identity.UserFilter{}, identity.Page{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			seen = append(seen, u.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if fmt.Sprint(seen) != fmt.Sprint(ids) {
		t.Fatalf("paged ids %v, want %v", seen, ids)
	}
	got, _, err := s.ListUsers(ctx, tn.ID, identity.UserFilter{Email: "U3@EXAMPLE.COM"}, identity.Page{})
	if err != nil || len(got) != 1 || got[0].ID != ids[3] {
		t.Fatalf("email filter = %v, %v", got, err)
	}
}

// Ensure organisations keep their parent, refuse unknown parents and
// cycles, and carry their members.
func testOrganisations(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	parent := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "Reseller", Email: "r@example.com", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateOrganisation(ctx, parent); err != nil {
		t.Fatal(err)
	}
	child := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "Shop", ParentID: parent.ID,
		Tags: []string{"retail"}, Profile: map[string]any{"address": map[string]any{"city": "Oslo"}}, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateOrganisation(ctx, child); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOrganisation(ctx, tn.ID, child.ID)
	if err != nil || got.ParentID != parent.ID || got.Tags[0] != "retail" || got.Profile["address"].(map[string]any)["city"] != "Oslo" {
		t.Fatalf("GetOrganisation = %+v, %v", got, err)
	}
	orphan := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "x", ParentID: identity.NewID(), CreatedAt: base, UpdatedAt: base}
	wantCode(t, s.CreateOrganisation(ctx, orphan), identity.ENOTFOUND)
	parent.ParentID = child.ID
	wantCode(t, s.UpdateOrganisation(ctx, parent), identity.EINVALID)

	u := &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: "m@example.com", Status: "active",
		OrganisationIDs: []string{child.ID}, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, tn.ID, u.ID); len(got.OrganisationIDs) != 1 || got.OrganisationIDs[0] != child.ID {
		t.Fatalf("membership = %v", got.OrganisationIDs)
	}
	bad := &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: "n@example.com", Status: "active",
		OrganisationIDs: []string{identity.NewID()}, CreatedAt: base, UpdatedAt: base}
	wantCode(t, s.CreateUser(ctx, bad), identity.ENOTFOUND)

	list, _, err := s.ListOrganisations(ctx, tn.ID, identity.Page{})
	if err != nil || len(list) != 2 {
		t.Fatalf("ListOrganisations = %d, %v", len(list), err)
	}
	// Deleting the parent orphans the child and drops no user.
	if err := s.DeleteOrganisation(ctx, tn.ID, parent.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetOrganisation(ctx, tn.ID, child.ID); got.ParentID != "" {
		t.Fatalf("child still has parent %q", got.ParentID)
	}
	if err := s.DeleteOrganisation(ctx, tn.ID, child.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, tn.ID, u.ID); err != nil || len(got.OrganisationIDs) != 0 {
		t.Fatalf("member after org delete = %+v, %v", got, err)
	}
}

// Ensure a session write also records its events, the login time and a
// rehashed password, in one go.
func testSessionCreate(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "s@example.com")
	at := base.Add(time.Hour)
	sess := &identity.Session{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, CreatedAt: at, ExpiresAt: at.Add(time.Hour),
		LastSeenAt: at, RotatedAt: at, UserAgent: "curl/8", Origin: "https://a.example", IP: "192.0.2.7", Dialect: "accounts-v3", AMR: []string{"pwd"}}
	ev := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, SessionID: sess.ID, Type: identity.EventLoggedIn, CreatedAt: at,
		Data: map[string]any{"ip": "192.0.2.7"}}
	if err := s.CreateSession(ctx, sess, identity.SessionWrite{Events: []identity.Event{ev}, Checked: u, NewPasswordHash: "$argon2id$new"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, sess.ID)
	if err != nil || got.UserAgent != "curl/8" || got.Origin != "https://a.example" || got.IP != "192.0.2.7" ||
		got.Generation != 0 || got.Revoked() || len(got.AMR) != 1 {
		t.Fatalf("GetSession = %+v, %v", got, err)
	}
	user, _ := s.GetUser(ctx, tn.ID, u.ID)
	if !user.LastLoginAt.Equal(at) || !user.LastSeenAt.Equal(at) || user.PasswordHash != "$argon2id$new" {
		t.Fatalf("user after login: last login %v, hash %q", user.LastLoginAt, user.PasswordHash)
	}
	evs, _, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{})
	if err != nil || len(evs) != 1 || evs[0].SessionID != sess.ID || evs[0].Data["ip"] != "192.0.2.7" {
		t.Fatalf("events = %+v, %v", evs, err)
	}
	// A session for a user that does not exist writes nothing at all.
	bad := *sess
	bad.ID, bad.UserID = identity.NewID(), identity.NewID()
	ev2 := ev
	ev2.ID = identity.NewID()
	if err := s.CreateSession(ctx, &bad, identity.SessionWrite{Events: []identity.Event{ev2}}); err == nil {
		t.Fatal("session for unknown user was stored")
	}
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{}); len(evs) != 1 {
		t.Fatalf("failed session write left %d events", len(evs))
	}
	_, err = s.GetSession(ctx, identity.NewID())
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure AdvanceSession only moves a live session from the generation the
// caller saw, and writes nothing otherwise.
func testSessionAdvanceCAS(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "cas@example.com")
	sess := MustCreateSession(t, s, u, base)
	later := base.Add(5 * time.Minute)
	ev := func() []identity.Event {
		return []identity.Event{{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, SessionID: sess.ID, Type: identity.EventLoggedIn, CreatedAt: later}}
	}
	if err := s.AdvanceSession(ctx, sess.ID, 0, later, ev()); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AdvanceSession(ctx, sess.ID, 0, later, ev()), identity.ECONFLICT)
	got, _ := s.GetSession(ctx, sess.ID)
	if got.Generation != 1 || !got.RotatedAt.Equal(later) || !got.LastSeenAt.Equal(later) {
		t.Fatalf("after advance: %+v", got)
	}
	if user, _ := s.GetUser(ctx, tn.ID, u.ID); !user.LastSeenAt.Equal(later) {
		t.Fatalf("user last seen %v, want %v", user.LastSeenAt, later)
	}
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{}); len(evs) != 1 {
		t.Fatalf("%d events, want 1 (the failed CAS must write none)", len(evs))
	}
	if err := s.RevokeSession(ctx, sess.ID, later, "test", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.AdvanceSession(ctx, sess.ID, 1, later, nil), identity.ECONFLICT)
	wantCode(t, s.AdvanceSession(ctx, identity.NewID(), 0, later, nil), identity.ECONFLICT)
}

// Ensure that of many concurrent callers advancing from one generation,
// exactly one wins.
func testSessionAdvanceConcurrent(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "race@example.com")
	sess := MustCreateSession(t, s, u, base)
	const callers = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for range callers {
		wg.Go(func() {
			err := s.AdvanceSession(ctx, sess.ID, 0, base.Add(time.Second), nil)
			mu.Lock()
			defer mu.Unlock()
			switch identity.ErrorCode(err) {
			case "":
				wins++
			case identity.ECONFLICT:
				conflicts++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || conflicts != callers-1 {
		t.Fatalf("wins=%d conflicts=%d, want 1 and %d", wins, conflicts, callers-1)
	}
	if got, _ := s.GetSession(ctx, sess.ID); got.Generation != 1 {
		t.Fatalf("generation %d, want 1", got.Generation)
	}
}

// Ensure revocation is recorded once, with its reason, and that revoking
// all of a user's sessions counts them.
func testSessionRevoke(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "rev@example.com")
	a := MustCreateSession(t, s, u, base)
	MustCreateSession(t, s, u, base.Add(time.Second))
	MustCreateSession(t, s, u, base.Add(2*time.Second))
	ev := func() []identity.Event {
		return []identity.Event{{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, SessionID: a.ID, Type: identity.EventRefreshTokenReused, CreatedAt: base}}
	}
	if err := s.RevokeSession(ctx, a.ID, base.Add(time.Minute), "reuse", ev()); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(ctx, a.ID, base.Add(2*time.Minute), "again", ev()); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetSession(ctx, a.ID)
	if !got.Revoked() || got.RevokeReason != "reuse" || !got.RevokedAt.Equal(base.Add(time.Minute)) {
		t.Fatalf("after revoke: %+v", got)
	}
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventRefreshTokenReused}, identity.Page{}); len(evs) != 1 {
		t.Fatalf("%d reuse events, want 1", len(evs))
	}
	wantCode(t, s.RevokeSession(ctx, identity.NewID(), base, "x", nil), identity.ENOTFOUND)
	n, err := s.RevokeUserSessions(ctx, tn.ID, u.ID, base.Add(time.Hour), "admin", nil)
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 2", n, err)
	}
	list, _, err := s.ListUserSessions(ctx, tn.ID, u.ID, identity.Page{})
	if err != nil || len(list) != 3 || !list[0].CreatedAt.After(list[2].CreatedAt) {
		t.Fatalf("ListUserSessions = %d, %v (newest first)", len(list), err)
	}
	for _, x := range list {
		if !x.Revoked() {
			t.Fatalf("session %s still live", x.ID)
		}
	}
	// Paged: the same order, a page at a time.
	first, next, err := s.ListUserSessions(ctx, tn.ID, u.ID, identity.Page{Limit: 2})
	if err != nil || len(first) != 2 || next == "" || first[0].ID != list[0].ID || first[1].ID != list[1].ID {
		t.Fatalf("first page: %d %q %v", len(first), next, err)
	}
	rest, next, err := s.ListUserSessions(ctx, tn.ID, u.ID, identity.Page{Limit: 2, Cursor: next})
	if err != nil || len(rest) != 1 || next != "" || rest[0].ID != list[2].ID {
		t.Fatalf("second page: %d %q %v", len(rest), next, err)
	}
	other, _, err := s.ListUserSessions(ctx, tn.ID, identity.NewID(), identity.Page{})
	if err != nil || len(other) != 0 {
		t.Fatalf("another user's sessions: %d %v", len(other), err)
	}
	// One event by its id.
	evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{Limit: 1})
	byID, _, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{ID: evs[0].ID}, identity.Page{})
	if err != nil || len(byID) != 1 || byID[0].ID != evs[0].ID {
		t.Fatalf("event by id: %v %v", byID, err)
	}
	if none, _, _ := s.ListEvents(ctx, identity.NewID(), identity.EventFilter{ID: evs[0].ID}, identity.Page{}); len(none) != 0 {
		t.Fatal("an event found by id in another tenant")
	}
}

// Ensure disabling a user revokes every live session in the same write.
func testDisableRevokes(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "off@example.com")
	sess := MustCreateSession(t, s, u, base)
	u.Status, u.UpdatedAt = identity.StatusDisabled, base.Add(time.Hour)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, sess.ID); !got.Revoked() {
		t.Fatal("session of a disabled user is still live")
	}
}

// Ensure a new password hash revokes every live session in the same write,
// and an update that keeps the hash revokes nothing.
func testPasswordChangeRevokes(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "pw@example.com")
	sess := MustCreateSession(t, s, u, base)
	u.FirstName, u.UpdatedAt = "Renamed", base.Add(time.Minute)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, sess.ID); got.Revoked() {
		t.Fatal("an update that kept the password revoked the session")
	}
	u.PasswordHash, u.UpdatedAt = "$argon2id$other", base.Add(time.Hour)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, _ := s.GetSession(ctx, sess.ID)
	if !got.Revoked() || got.RevokeReason != "password changed" {
		t.Fatalf("after password change: revoked=%v reason=%q", got.Revoked(), got.RevokeReason)
	}
	ghost := *u
	ghost.ID = identity.NewID()
	wantCode(t, s.UpdateUser(ctx, &ghost), identity.ENOTFOUND)
}

// Ensure every time comes back in UTC, to the microsecond.
func testTimesUTC(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "utc@example.com")
	sess := MustCreateSession(t, s, u, base)
	gt, _ := s.GetTenant(ctx, tn.ID)
	gu, _ := s.GetUser(ctx, tn.ID, u.ID)
	gs, _ := s.GetSession(ctx, sess.ID)
	for name, tm := range map[string]time.Time{
		"tenant.created": gt.CreatedAt, "user.created": gu.CreatedAt, "user.last_login": gu.LastLoginAt,
		"session.created": gs.CreatedAt, "session.expires": gs.ExpiresAt, "metadata.created": gu.Metadata[0].CreatedAt,
	} {
		if tm.Location() != time.UTC {
			t.Errorf("%s in %v, want UTC", name, tm.Location())
		}
	}
	if !gt.CreatedAt.Equal(base) || gt.CreatedAt.Nanosecond() != 891234000 {
		t.Errorf("tenant.created = %v, want %v to the microsecond", gt.CreatedAt, base.UTC())
	}
	if !gs.ExpiresAt.Equal(base.Add(time.Hour)) {
		t.Errorf("session.expires = %v", gs.ExpiresAt)
	}
}

// Ensure deleting a tenant removes everything it owns and nothing else.
func testTenantDeleteCascades(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, keep := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	org := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "o", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}
	u := MustCreateUser(t, s, tn.ID, "gone@example.com")
	sess := MustCreateSession(t, s, u, base)
	if err := s.AppendEvents(ctx, identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, Type: identity.EventLoginFailed, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	key := &identity.APIKey{ID: identity.NewID(), TenantID: tn.ID, Name: "k", Hash: []byte(identity.NewID()), Prefix: "x", CreatedAt: base}
	if err := s.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	ku := MustCreateUser(t, s, keep.ID, "gone@example.com")

	if err := s.DeleteTenant(ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	_, err := s.GetUser(ctx, tn.ID, u.ID)
	wantCode(t, err, identity.ENOTFOUND)
	_, err = s.GetSession(ctx, sess.ID)
	wantCode(t, err, identity.ENOTFOUND)
	_, err = s.GetOrganisation(ctx, tn.ID, org.ID)
	wantCode(t, err, identity.ENOTFOUND)
	_, err = s.GetAPIKeyByHash(ctx, key.Hash)
	wantCode(t, err, identity.ENOTFOUND)
	if evs, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{}); len(evs) != 0 {
		t.Fatalf("%d events survived", len(evs))
	}
	if _, err := s.GetUser(ctx, keep.ID, ku.ID); err != nil {
		t.Fatalf("other tenant's user lost: %v", err)
	}
}

// Ensure events list newest first, filter by type and user, and page.
func testEvents(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	var ids []string
	for i := range 5 {
		typ, user := identity.EventLoggedIn, "u1"
		if i%2 == 1 {
			typ, user = identity.EventLoginFailed, "u2"
		}
		e := identity.Event{ID: identity.NewID(), TenantID: tn.ID, UserID: user, Type: typ, CreatedAt: base.Add(time.Duration(i) * time.Second),
			Data: map[string]any{"reason": "password", "n": float64(i)}}
		ids = append(ids, e.ID)
		if err := s.AppendEvents(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	first, next, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{Limit: 3})
	if err != nil || len(first) != 3 || first[0].ID != ids[4] || next == "" {
		t.Fatalf("page 1 = %d, %v", len(first), err)
	}
	rest, next, err := s.ListEvents(ctx, tn.ID, identity.EventFilter{}, identity.Page{Limit: 3, Cursor: next})
	if err != nil || len(rest) != 2 || rest[1].ID != ids[0] || next != "" {
		t.Fatalf("page 2 = %d, %q, %v", len(rest), next, err)
	}
	failed, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{Type: identity.EventLoginFailed}, identity.Page{})
	byUser, _, _ := s.ListEvents(ctx, tn.ID, identity.EventFilter{UserID: "u1"}, identity.Page{})
	if len(failed) != 2 || len(byUser) != 3 || failed[0].Data["reason"] != "password" {
		t.Fatalf("filters: failed=%d byUser=%d", len(failed), len(byUser))
	}
}

// Ensure API keys are found by hash only while they exist, and revocation
// is kept.
func testAPIKeys(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	k := &identity.APIKey{ID: identity.NewID(), TenantID: tn.ID, Name: "mobile", Hash: []byte("0123456789abcdef0123456789abcdef"), Prefix: "lak1_abc", CreatedAt: base}
	if err := s.CreateAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetAPIKeyByHash(ctx, k.Hash)
	if err != nil || got.ID != k.ID || got.Name != "mobile" || !got.RevokedAt.IsZero() {
		t.Fatalf("GetAPIKeyByHash = %+v, %v", got, err)
	}
	if err := s.RevokeAPIKey(ctx, tn.ID, k.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListAPIKeys(ctx, tn.ID)
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("ListAPIKeys = %+v, %v", list, err)
	}
	wantCode(t, s.RevokeAPIKey(ctx, tn.ID, identity.NewID(), base), identity.ENOTFOUND)
	_, err = s.GetAPIKeyByHash(ctx, []byte("nope"))
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure signing keys are shared through the store in activation order and
// their ids are unique.
func testSigningKeys(t *testing.T, s identity.Store) {
	ctx := context.Background()
	before, _ := s.ListSigningKeys(ctx)
	k2 := &identity.SigningKey{ID: identity.NewID(), Alg: "EdDSA", PrivateEnc: []byte{1, 2}, PublicDER: []byte{3}, CreatedAt: base, ActivateAt: base.Add(time.Hour)}
	k1 := &identity.SigningKey{ID: identity.NewID(), Alg: "ES256", PrivateEnc: []byte{4}, PublicDER: []byte{5}, CreatedAt: base, ActivateAt: base}
	for _, k := range []*identity.SigningKey{k2, k1} {
		if err := s.InsertSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.InsertSigningKey(ctx, k1), identity.ECONFLICT)
	keys, err := s.ListSigningKeys(ctx)
	if err != nil || len(keys) != len(before)+2 {
		t.Fatalf("ListSigningKeys = %d, %v", len(keys), err)
	}
	var order []string
	for _, k := range keys {
		if k.ID == k1.ID || k.ID == k2.ID {
			order = append(order, k.ID)
		}
	}
	if order[0] != k1.ID || string(keys[len(keys)-1].PrivateEnc) != string(k2.PrivateEnc) {
		t.Fatalf("keys not in activation order")
	}
}

// Ensure a store that reads a session with its owners in one go returns
// what the three separate reads return.
func testSessionOwners(t *testing.T, s identity.Store) {
	l := s
	ctx := context.Background()
	tn := MustCreateTenant(t, s, unique("own"))
	u := MustCreateUser(t, s, tn.ID, "owner@example.com")
	sess := MustCreateSession(t, s, u, base)
	gs, gt, gu, err := l.GetSessionWithOwners(ctx, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	ws, _ := s.GetSession(ctx, sess.ID)
	wt, _ := s.GetTenant(ctx, tn.ID)
	wu, _ := s.GetUser(ctx, tn.ID, u.ID)
	if !reflect.DeepEqual(gs, ws) || !reflect.DeepEqual(gt, wt) || !reflect.DeepEqual(gu, wu) {
		t.Fatalf("joined read differs:\n%+v\n%+v\n%+v\nwant\n%+v\n%+v\n%+v", gs, gt, gu, ws, wt, wu)
	}
	_, _, _, err = l.GetSessionWithOwners(ctx, identity.NewID())
	wantCode(t, err, identity.ENOTFOUND)
}

// Ensure rotations move the user's last seen only when it is a minute old,
// while the session's own last seen always moves.
func testUserLastSeenCoarse(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "seen@example.com")
	sess := MustCreateSession(t, s, u, base) // the user was last seen at base
	for i, step := range []struct {
		after    time.Duration
		userSeen time.Duration
	}{{30 * time.Second, 0}, {61 * time.Second, 61 * time.Second}, {90 * time.Second, 61 * time.Second}} {
		at := base.Add(step.after)
		if err := s.AdvanceSession(ctx, sess.ID, int64(i), at, nil); err != nil {
			t.Fatal(err)
		}
		got, _ := s.GetSession(ctx, sess.ID)
		user, _ := s.GetUser(ctx, tn.ID, u.ID)
		if !got.LastSeenAt.Equal(at) || !user.LastSeenAt.Equal(base.Add(step.userSeen)) {
			t.Fatalf("after a rotation at +%v: session seen %v, user seen %v (want %v)", step.after, got.LastSeenAt, user.LastSeenAt, base.Add(step.userSeen))
		}
	}
}

// Ensure that of instances starting together on an empty database exactly
// one creates the first key of an algorithm, and that a later key is not
// "first" once one is active.
func testFirstSigningKey(t *testing.T, s identity.Store) {
	ctx := context.Background()
	alg := "test-" + unique("alg") // the suite's other keys must not count
	wins := concurrently(t, 8, func() (bool, error) {
		return s.InsertFirstSigningKey(ctx, &identity.SigningKey{ID: identity.NewID(), Alg: alg, PrivateEnc: []byte{1},
			PublicDER: []byte{2}, CreatedAt: base, ActivateAt: base})
	})
	if wins != 1 {
		t.Fatalf("%d first keys inserted, want 1", wins)
	}
	// A key activating before the existing one is still a first key.
	early := &identity.SigningKey{ID: identity.NewID(), Alg: alg, PrivateEnc: []byte{1}, PublicDER: []byte{2}, CreatedAt: base, ActivateAt: base.Add(-time.Hour)}
	if ok, err := s.InsertFirstSigningKey(ctx, early); !ok || err != nil {
		t.Fatalf("earlier key: %v, %v", ok, err)
	}
}

// Ensure sessions keep their kind and device, and that revoking a device's
// sessions of one kind leaves other devices and kinds alone.
func testDeviceSessions(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn := MustCreateTenant(t, s, "")
	u := MustCreateUser(t, s, tn.ID, "device@example.com")
	mk := func(device, kind string) *identity.Session {
		sess := &identity.Session{ID: identity.NewID(), TenantID: tn.ID, UserID: u.ID, CreatedAt: base, ExpiresAt: base.Add(time.Hour),
			LastSeenAt: base, RotatedAt: base, DeviceName: device, Kind: kind, Dialect: "token-login"}
		if err := s.CreateSession(ctx, sess, identity.SessionWrite{}); err != nil {
			t.Fatal(err)
		}
		return sess
	}
	grant, other, plain := mk("phone", identity.SessionReauth), mk("tablet", identity.SessionReauth), mk("phone", identity.SessionNormal)
	if got, _ := s.GetSession(ctx, grant.ID); got.Kind != identity.SessionReauth || got.DeviceName != "phone" {
		t.Fatalf("kind/device not kept: %+v", got)
	}
	n, err := s.RevokeDeviceSessions(ctx, tn.ID, u.ID, "phone", identity.SessionReauth, base, "replaced")
	if err != nil || n != 1 {
		t.Fatalf("RevokeDeviceSessions = %d, %v", n, err)
	}
	for _, c := range []struct {
		sess    *identity.Session
		revoked bool
	}{{grant, true}, {other, false}, {plain, false}} {
		if got, _ := s.GetSession(ctx, c.sess.ID); got.Revoked() != c.revoked {
			t.Errorf("session %s/%q revoked = %v, want %v", c.sess.DeviceName, c.sess.Kind, got.Revoked(), c.revoked)
		}
	}
}
