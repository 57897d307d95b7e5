package sqlstore

import "github.com/latchauth/latch/internal/identity"

// Text refuses, with EINVALID naming the column, a value about to be
// written that holds NUL or invalid UTF-8 (identity.ValidText) anywhere:
// PostgreSQL cannot keep it and SQLite must not differ. cols are pairs of
// a column name and its value (a string, or a JSON column's value).
func Text(cols ...any) error {
	for i := 0; i+1 < len(cols); i += 2 {
		if err := identity.CheckText(cols[i].(string), cols[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// UserText is Text for every text column of a user row.
func UserText(u *identity.User) error {
	return Text("id", u.ID, "tenant_id", u.TenantID, "email", u.Email, "username", u.Username, "password_hash", u.PasswordHash,
		"first_name", u.FirstName, "last_name", u.LastName, "role", u.Role, "roles", u.Roles, "status", u.Status,
		"tags", u.Tags, "metadata", u.Metadata, "profile", u.Profile, "organisation_ids", u.OrganisationIDs)
}

// SessionText is Text for every text column of a session row.
func SessionText(s *identity.Session) error {
	if s == nil {
		return nil
	}
	return Text("id", s.ID, "tenant_id", s.TenantID, "user_id", s.UserID, "revoke_reason", s.RevokeReason,
		"user_agent", s.UserAgent, "origin", s.Origin, "ip", s.IP, "dialect", s.Dialect, "amr", s.AMR,
		"device_name", s.DeviceName, "kind", s.Kind)
}

// EventText is Text for every text column of event rows.
func EventText(events []identity.Event) error {
	for i := range events {
		e := &events[i]
		if err := Text("id", e.ID, "tenant_id", e.TenantID, "user_id", e.UserID, "session_id", e.SessionID,
			"type", e.Type, "data", e.Data); err != nil {
			return err
		}
	}
	return nil
}

// EmailTaken is the conflict of a user write whose email another user of
// the tenant has.
func EmailTaken(err error) error {
	return &identity.Error{Code: identity.ECONFLICT, Field: "email", Message: "a user with this email already exists", Err: err}
}

// UsernameTaken is the conflict of a user write whose user name another
// user of the tenant has.
func UsernameTaken(err error) error {
	return &identity.Error{Code: identity.ECONFLICT, Field: "username", Message: "a user with this user name already exists", Err: err}
}

// UserChanged is the conflict of a login write whose user is no longer
// as the login checked it (identity.SessionWrite.Checked).
func UserChanged() error {
	return &identity.Error{Code: identity.ECONFLICT, Message: "the user changed since the login checked it"}
}

// TenantText is Text for every text column of a tenant row.
func TenantText(t *identity.Tenant) error {
	return Text("id", t.ID, "name", t.Name, "alias", t.Alias, "settings", t.Settings)
}

// OrganisationText is Text for every text column of an organisation row.
func OrganisationText(o *identity.Organisation) error {
	return Text("id", o.ID, "tenant_id", o.TenantID, "name", o.Name, "email", o.Email, "description", o.Description,
		"parent_id", o.ParentID, "tags", o.Tags, "profile", o.Profile)
}

// APIKeyText is Text for every text column of an API key row.
func APIKeyText(k *identity.APIKey) error {
	return Text("id", k.ID, "tenant_id", k.TenantID, "name", k.Name, "prefix", k.Prefix)
}
