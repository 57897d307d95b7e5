package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

func ptr[T any](v T) *T { return &v }

// Ensure an import refuses exactly what an admin's create refuses, with
// the same words: it runs the same validation, not a copy of it.
func TestImportValidatesAsCreateUser(t *testing.T) {
	s := MustStory(t, identity.DefaultAccountLimit)
	ctx := context.Background()
	many := make([]string, 101)
	for i := range many {
		many[i] = "r"
	}
	for _, in := range []identity.UserInput{
		{},
		{Email: ptr("not an email")},
		{Email: ptr("x@example.com"), Password: ptr("short")},
		{Email: ptr("x@example.com"), Password: ptr(pw), PasswordHash: ptr("$2b$04$x")},
		{Email: ptr("x@example.com"), PasswordHash: ptr("$md5$nope")},
		{Email: ptr("x@example.com"), Status: ptr("deleted")},
		{Email: ptr("x@example.com"), Roles: &many},
		{Email: ptr("x@example.com"), FirstName: ptr("A\x00da")},
		{Email: ptr("x@example.com"), Username: ptr("has space")},
		{Email: ptr("x@example.com"), Metadata: &[]identity.MetadataInput{{Key: ""}}},
	} {
		_, cerr := s.Admin.CreateUser(ctx, s.tenant.ID, in)
		_, ierr := s.Admin.PrepareImport(ctx, s.tenant.ID, identity.UserRecord{UserInput: in})
		var ce, ie *identity.Error
		if !errors.As(cerr, &ce) || !errors.As(ierr, &ie) || ce.Code != identity.EINVALID || ce.Code != ie.Code || ce.Field != ie.Field || ce.Message != ie.Message {
			t.Errorf("%+v: create says %v, import says %v", in, cerr, ierr)
		}
	}
	// What only an import carries: an id and a creation time of the past.
	for _, rec := range []identity.UserRecord{
		{ID: "42", UserInput: identity.UserInput{Email: ptr("x@example.com")}},
		{CreatedAt: ptr(s.clock.Now().Add(time.Hour)), UserInput: identity.UserInput{Email: ptr("x@example.com")}},
	} {
		if _, err := s.Admin.PrepareImport(ctx, s.tenant.ID, rec); identity.ErrorCode(err) != identity.EINVALID {
			t.Errorf("%+v: %v, want EINVALID", rec, err)
		}
	}
}

// Ensure an import keeps a record's id and creation time, skips a taken
// email or, with update, applies the record to that user as an admin
// update does (a new password ends the user's sessions), and records one
// audit event with the counts.
func TestImportStory(t *testing.T) {
	s := MustStory(t, identity.DefaultAccountLimit)
	ctx := context.Background()
	res, err := s.Auth.Login(ctx, s.req("192.0.2.1", pw))
	if err != nil {
		t.Fatal(err)
	}
	id, created := strings.ToUpper(identity.NewID()), s.clock.Now().Add(-48*time.Hour)
	recs := []identity.UserRecord{
		{ID: id, CreatedAt: &created, UserInput: identity.UserInput{Email: ptr("grace@example.com"), Password: ptr(pw)}},
		{UserInput: identity.UserInput{Email: ptr("ADA@example.com"), FirstName: ptr("Augusta"), Password: ptr("a new password 42")}},
	}
	prepare := func() []*identity.User {
		var users []*identity.User
		for _, r := range recs {
			u, err := s.Admin.PrepareImport(ctx, s.tenant.ID, r)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u)
		}
		return users
	}
	s.clock.Advance(time.Minute)
	out, err := s.Admin.ImportUsers(ctx, s.tenant.ID, recs, prepare(), false)
	if err != nil || out[0].Outcome != identity.Imported || out[1].Outcome != identity.Skipped {
		t.Fatalf("import: %+v, %v", out, err)
	}
	g, err := s.db.GetUserByEmail(ctx, s.tenant.ID, "grace@example.com")
	if err != nil || g.ID != strings.ToLower(id) || !g.CreatedAt.Equal(created) {
		t.Fatalf("imported user %+v, %v: want id %s created %s", g, err, strings.ToLower(id), created)
	}
	if _, err := s.Auth.Refresh(ctx, res.RefreshToken, identity.Client{Dialect: "test", IP: "192.0.2.1"}); err != nil {
		t.Fatalf("a skipped record ended the user's session: %v", err)
	}
	recs = recs[1:]
	out, err = s.Admin.ImportUsers(ctx, s.tenant.ID, recs, prepare(), true)
	if err != nil || out[0].Outcome != identity.Updated {
		t.Fatalf("import with update: %+v, %v", out, err)
	}
	if u, _ := s.db.GetUser(ctx, s.tenant.ID, s.user.ID); u.FirstName != "Augusta" || u.Email != "ADA@example.com" { // the line's fields, its email as written too
		t.Errorf("updated user: %+v", u)
	}
	if s.login(t, "192.0.2.1", "a new password 42") != "" {
		t.Error("the imported password does not log in")
	}
	if _, err := s.Auth.Refresh(ctx, res.RefreshToken, identity.Client{Dialect: "test", IP: "192.0.2.1"}); err == nil {
		t.Error("a session of the old password survived the update")
	}
	s.Admin.AuditImport(identity.Via(ctx, "cli"), s.tenant.ID, identity.ImportCounts{Imported: 1, Skipped: 1, Updated: 1})
	evs := s.events(t, "admin.users.imported")
	if len(evs) != 1 || evs[0].Data["imported"] != float64(1) || evs[0].Data["updated"] != float64(1) || evs[0].Data["via"] != "cli" ||
		!evs[0].CreatedAt.Equal(s.clock.Now()) {
		t.Errorf("audit events: %+v", evs)
	}
}
