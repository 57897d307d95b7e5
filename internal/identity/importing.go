package identity

import (
	"context"
	"strings"
	"time"
)

// UserRecord is one user of an import or export file (`latch user
// import` and `export`): the admin API's user fields, with a password or
// an existing hash, and the id and creation time an export writes. An
// import keeps them, so that an app that stored a user's id (the access
// token's sub) finds the same user after a move.
type UserRecord struct {
	ID        string     `json:"id,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UserInput
}

// ExportRecord is u as an import reads it back: every field an import
// sets, with the password hash.
func ExportRecord(u *User) UserRecord {
	orNil := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	md := make([]MetadataInput, len(u.Metadata))
	for i, m := range u.Metadata {
		md[i] = MetadataInput{Key: m.Key, Value: m.Value, ViewPermissions: m.ViewPermissions, Visible: &m.Visible}
	}
	created, verified, status := u.CreatedAt, u.EmailVerified, u.Status
	list := func(l []string) *[]string {
		if l == nil {
			l = []string{}
		}
		return &l
	}
	profile := u.Profile
	if profile == nil {
		profile = map[string]any{}
	}
	return UserRecord{ID: u.ID, CreatedAt: &created, UserInput: UserInput{
		Email: &u.Email, Username: orNil(u.Username), EmailVerified: &verified, PasswordHash: orNil(u.PasswordHash),
		FirstName: orNil(u.FirstName), LastName: orNil(u.LastName), Role: orNil(u.Role), Roles: list(u.Roles), Status: &status,
		Tags: list(u.Tags), Metadata: &md, Profile: &profile, OrganisationIDs: list(u.OrganisationIDs),
	}}
}

// PrepareImport validates rec with the rules and the code CreateUser
// applies to an admin's request, hashes its password, and returns the
// user ImportUsers stores; it stores nothing. tenantID must name an
// existing tenant (the caller resolved it once for the whole import).
func (ad *Admin) PrepareImport(ctx context.Context, tenantID string, rec UserRecord) (*User, error) {
	u, err := ad.newUser(ctx, tenantID, rec.UserInput)
	if err != nil {
		return nil, err
	}
	if rec.ID != "" {
		if !WellFormedID(rec.ID) {
			return nil, Invalid("id", "must be a user id (a UUID), or absent for a new one")
		}
		u.ID = strings.ToLower(rec.ID)
	}
	if rec.CreatedAt != nil {
		if rec.CreatedAt.IsZero() || rec.CreatedAt.After(u.CreatedAt) {
			return nil, Invalid("created_at", "must be a time in the past")
		}
		u.CreatedAt = rec.CreatedAt.UTC()
	}
	return u, nil
}

// What ImportUsers did with a record.
const (
	Imported = "imported" // a new user
	Skipped  = "skipped"  // its email is taken in the tenant: left alone
	Updated  = "updated"  // its email is taken: that user got the record's fields
	Rejected = "rejected" // not stored: see the error
)

// ImportResult is what ImportUsers did with one record.
type ImportResult struct {
	Outcome string
	Err     error // why, when Rejected
}

// ImportUsers stores users, prepared by PrepareImport from recs (in the
// same order), as one batch of new users. A record whose email another
// user of the tenant has is Skipped, or with update applied to that user
// as UpdateUser applies a request: the fields it gives change, and a new
// password or a disable revokes the user's sessions. It records no event
// per user: see AuditImport.
func (ad *Admin) ImportUsers(ctx context.Context, tenantID string, recs []UserRecord, users []*User, update bool) ([]ImportResult, error) {
	outcomes, err := ad.Users.ImportUsers(ctx, tenantID, users)
	if err != nil {
		return nil, err
	}
	res := make([]ImportResult, len(users))
	for i, o := range outcomes {
		switch {
		case o.Err != nil:
			res[i] = ImportResult{Rejected, o.Err}
		case o.Existing == "":
			res[i] = ImportResult{Outcome: Imported}
		case !update:
			res[i] = ImportResult{Outcome: Skipped}
		default:
			res[i] = ad.importUpdate(ctx, tenantID, o.Existing, recs[i].UserInput, users[i])
		}
	}
	return res, nil
}

// importUpdate applies in to the user with id. A password in was hashed
// already (into prepared): it is not hashed again.
func (ad *Admin) importUpdate(ctx context.Context, tenantID, id string, in UserInput, prepared *User) ImportResult {
	if in.Password != nil || in.PasswordHash != nil {
		in.Password, in.PasswordHash = nil, &prepared.PasswordHash
	}
	u, err := ad.Users.GetUser(ctx, tenantID, id)
	if err == nil {
		if err = ad.applyUser(ctx, u, in, false); err == nil {
			u.UpdatedAt = ad.now()
			err = ad.Users.UpdateUser(ctx, u)
		}
	}
	if err != nil {
		return ImportResult{Rejected, err}
	}
	return ImportResult{Outcome: Updated}
}

// ImportCounts are an import's totals.
type ImportCounts struct {
	Imported, Updated, Skipped, Rejected int
}

// AuditImport records an import into the tenant as one event,
// admin.users.imported, with its counts: an import of a million users is
// one entry of the audit log, not a million (and adds no load to webhook
// dispatch, which admin events never reach anyway).
func (ad *Admin) AuditImport(ctx context.Context, tenantID string, c ImportCounts) {
	ad.audit(ctx, tenantID, "", "users", "imported", "", nil,
		"imported", c.Imported, "updated", c.Updated, "skipped", c.Skipped, "rejected", c.Rejected)
}
