package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/latchauth/latch/internal/identity"
)

// importUser is a user as an import prepares it: complete, not stored.
func importUser(tenantID, email string) *identity.User {
	return &identity.User{
		ID: identity.NewID(), TenantID: tenantID, Email: email, PasswordHash: "$argon2id$x", FirstName: "Ada", LastName: "Lovelace",
		Roles: []string{"user"}, Status: identity.StatusActive, Tags: []string{"imported"},
		Metadata: []identity.MetadataItem{{ID: "m1", Key: "plan", Value: "pro", Visible: true, ViewPermissions: []string{},
			CreatedAt: base.UTC(), UpdatedAt: base.UTC()}},
		Profile: map[string]any{"language": "en"}, CreatedAt: base, UpdatedAt: base,
	}
}

// testImportUsers: a batch inserts every user it can and says, for each
// one it leaves out, why; the others are stored whole.
func testImportUsers(t *testing.T, s identity.Store) {
	ctx := context.Background()
	tn, other := MustCreateTenant(t, s, ""), MustCreateTenant(t, s, "")
	stored := MustCreateUser(t, s, tn.ID, "stored@example.com")
	named := importUser(tn.ID, "named@example.com")
	named.Username = "Named"
	if err := s.CreateUser(ctx, named); err != nil {
		t.Fatal(err)
	}
	elsewhere := MustCreateUser(t, s, other.ID, "elsewhere@example.com")
	org := &identity.Organisation{ID: identity.NewID(), TenantID: tn.ID, Name: "Shop", CreatedAt: base, UpdatedAt: base}
	if err := s.CreateOrganisation(ctx, org); err != nil {
		t.Fatal(err)
	}

	fresh := importUser(tn.ID, "fresh@example.com")
	fresh.Username, fresh.OrganisationIDs, fresh.EmailVerified = "fresh", []string{org.ID}, true
	again := importUser(tn.ID, "STORED@example.com")
	twin := importUser(tn.ID, "Fresh@Example.com")
	nameTaken := importUser(tn.ID, "other@example.com")
	nameTaken.Username = "named"
	idTaken := importUser(tn.ID, "idtaken@example.com")
	idTaken.ID = elsewhere.ID
	noOrg := importUser(tn.ID, "noorg@example.com")
	noOrg.OrganisationIDs = []string{identity.NewID()}
	badText := importUser(tn.ID, "badtext@example.com")
	badText.FirstName = "A\x00da"
	last := importUser(tn.ID, "last@example.com")
	batch := []*identity.User{fresh, again, twin, nameTaken, idTaken, noOrg, badText, last}

	out, err := s.ImportUsers(ctx, tn.ID, batch)
	if err != nil {
		t.Fatalf("ImportUsers: %v", err)
	}
	if len(out) != len(batch) {
		t.Fatalf("%d outcomes for %d users", len(out), len(batch))
	}
	want := []struct {
		existing, code, field string
	}{
		{}, {existing: stored.ID}, {existing: fresh.ID}, {code: identity.ECONFLICT, field: "username"},
		{code: identity.ECONFLICT, field: "id"}, {code: identity.ENOTFOUND, field: "organisation_ids"}, {code: identity.EINVALID}, {},
	}
	for i, w := range want {
		o := out[i]
		var field string
		if e, ok := o.Err.(*identity.Error); ok {
			field = e.Field
		}
		if o.Existing != w.existing || identity.ErrorCode(o.Err) != w.code || (w.field != "" && field != w.field) {
			t.Errorf("user %d (%s): outcome %+v (field %q), want %+v", i, batch[i].Email, o, field, w)
		}
	}
	for _, u := range []*identity.User{fresh, last} {
		got, err := s.GetUserByEmail(ctx, tn.ID, u.Email)
		if err != nil {
			t.Fatalf("imported %s: %v", u.Email, err)
		}
		if got.ID != u.ID || got.Username != u.Username || got.EmailVerified != u.EmailVerified || got.PasswordHash != u.PasswordHash ||
			!reflect.DeepEqual(got.Metadata, u.Metadata) || !reflect.DeepEqual(got.OrganisationIDs, u.OrganisationIDs) ||
			got.Profile["language"] != "en" || !got.CreatedAt.Equal(base) {
			t.Errorf("imported %s reads back as %+v, want %+v", u.Email, got, u)
		}
	}
	for _, u := range []*identity.User{nameTaken, noOrg, badText} {
		if _, err := s.GetUserByEmail(ctx, tn.ID, u.Email); identity.ErrorCode(err) != identity.ENOTFOUND {
			t.Errorf("%s was left out but reads back: %v", u.Email, err)
		}
	}
	if got, _ := s.GetUser(ctx, other.ID, elsewhere.ID); got == nil || got.Email != elsewhere.Email {
		t.Errorf("another tenant's user changed: %+v", got)
	}
	if got, _ := s.GetUser(ctx, tn.ID, stored.ID); got == nil || got.FirstName != stored.FirstName || got.Email != stored.Email {
		t.Errorf("the stored user changed: %+v", got)
	}
	// A user of another tenant is refused, not filed under this one.
	stray := importUser(other.ID, "stray@example.com")
	if out, err := s.ImportUsers(ctx, tn.ID, []*identity.User{stray}); err != nil || identity.ErrorCode(out[0].Err) != identity.EINVALID {
		t.Errorf("a user of another tenant: %+v, %v", out, err)
	}
	// A large batch is one call.
	big := make([]*identity.User, 1200)
	for i := range big {
		big[i] = importUser(tn.ID, fmt.Sprintf("bulk%04d@example.com", i))
	}
	if out, err = s.ImportUsers(ctx, tn.ID, big); err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		if o.Existing != "" || o.Err != nil {
			t.Fatalf("bulk user %d: %+v", i, o)
		}
	}
	page, _, err := s.ListUsers(ctx, tn.ID, identity.UserFilter{EmailPrefix: "bulk1199"}, identity.Page{})
	if err != nil || len(page) != 1 || page[0].ID != big[1199].ID {
		t.Errorf("the last of the bulk batch: %v, %v", page, err)
	}
}
