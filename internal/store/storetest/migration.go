package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/latchauth/latch/internal/identity"
)

// Ensure lazy migration's marks survive: a user's MigratedFrom is kept
// (an update does not clear it), CountUsers counts a tenant's users and
// the migrated ones among them, and the tenant's migration setting, its
// sealed API key included, round-trips.
func testMigratedUsers(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, other := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	MustCreateUser(t, s, tn.ID, "ada@example.com")
	MustCreateUser(t, s, other.ID, "ada@example.com")
	m := &identity.User{ID: identity.NewID(), TenantID: tn.ID, Email: "grace@example.com", Status: identity.StatusActive,
		PasswordHash: "$argon2id$x", MigratedFrom: identity.UpstreamAppAuth, CreatedAt: base, UpdatedAt: base}
	if err := s.CreateUser(ctx, m); err != nil {
		t.Fatal(err)
	}
	m.FirstName = "Grace"
	if err := s.UpdateUser(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUserByEmail(ctx, tn.ID, "grace@example.com"); err != nil || got.MigratedFrom != identity.UpstreamAppAuth || got.FirstName != "Grace" {
		t.Fatalf("migrated user: %+v, %v", got, err)
	}
	if total, migrated, err := s.CountUsers(ctx, tn.ID); err != nil || total != 2 || migrated != 1 {
		t.Fatalf("CountUsers = %d, %d, %v; want 2, 1", total, migrated, err)
	}
	if total, migrated, err := s.CountUsers(ctx, identity.NewID()); err != nil || total != 0 || migrated != 0 {
		t.Fatalf("CountUsers of no tenant = %d, %d, %v", total, migrated, err)
	}
	sealed := []byte{0, 1, 2, 0xff}
	tn.Settings.Migration = &identity.TenantMigration{Dialect: identity.UpstreamTokenLogin, BaseURL: "https://x.example", APIKeySealed: sealed}
	if err := s.UpdateTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTenant(ctx, tn.ID)
	if err != nil || got.Settings.Migration == nil || got.Settings.Migration.Dialect != identity.UpstreamTokenLogin ||
		!bytes.Equal(got.Settings.Migration.APIKeySealed, sealed) {
		t.Fatalf("migration setting: %+v, %v", got.Settings.Migration, err)
	}
}
