package sqlstore

import (
	"context"
	"slices"

	"github.com/latchauth/latch/internal/identity"
)

// ImportUsers implements identity.UserStore: one transaction per batch.
// The users whose organisations exist are handed to the flavour's
// InsertUsers at once (a prepared statement on SQLite, one multi-row
// statement on PostgreSQL), which skips any row that conflicts; only the
// rows it skipped cost a query more, to say why.
func (s Store) ImportUsers(ctx context.Context, tenantID string, users []*identity.User) ([]identity.ImportOutcome, error) {
	var out []identity.ImportOutcome
	err := s.f.Tx(ctx, func(tx Conn) error {
		out = make([]identity.ImportOutcome, len(users)) // afresh when the transaction is retried
		orgs, err := existingOrganisations(ctx, tx, tenantID, users)
		if err != nil {
			return err
		}
		rows, at := make([]*identity.User, 0, len(users)), make([]int, 0, len(users))
		for i, u := range users {
			if u.TenantID != tenantID {
				out[i].Err = identity.Invalid("tenant_id", "must be the tenant being imported into")
				continue
			}
			if err := UserText(u); err != nil {
				out[i].Err = err
				continue
			}
			if j := slices.IndexFunc(u.OrganisationIDs, func(id string) bool { return !orgs[id] }); j >= 0 {
				out[i].Err = &identity.Error{Code: identity.ENOTFOUND, Field: "organisation_ids", Message: "organisation " + u.OrganisationIDs[j] + " not found"}
				continue
			}
			rows, at = append(rows, u), append(at, i)
		}
		inserted, err := s.f.InsertUsers(ctx, tx, rows)
		if err != nil {
			return err
		}
		for j, u := range rows {
			if !inserted[j] {
				if out[at[j]], err = s.importConflict(ctx, tx, u); err != nil {
					return err
				}
				continue
			}
			for _, oid := range u.OrganisationIDs {
				if _, err := tx.Exec(ctx, "INSERT INTO user_organisations (user_id, organisation_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", u.ID, oid); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// existingOrganisations says which of the organisation ids the users name
// exist in the tenant.
func existingOrganisations(ctx context.Context, tx Conn, tenantID string, users []*identity.User) (map[string]bool, error) {
	orgs := map[string]bool{}
	for _, u := range users {
		for _, id := range u.OrganisationIDs {
			if _, seen := orgs[id]; seen {
				continue
			}
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1 AND tenant_id = $2)", id, tenantID).Scan(&exists); err != nil {
				return nil, err
			}
			orgs[id] = exists
		}
	}
	return orgs, nil
}

// importConflict says why InsertUsers skipped u: its email, user name or
// id is taken.
func (s Store) importConflict(ctx context.Context, tx Conn, u *identity.User) (identity.ImportOutcome, error) {
	var id string
	err := tx.QueryRow(ctx, "SELECT id FROM users WHERE tenant_id = $1 AND email_key = $2", u.TenantID, identity.EmailKey(u.Email)).Scan(&id)
	switch {
	case err == nil:
		return identity.ImportOutcome{Existing: id}, nil
	case !s.f.NoRows(err):
		return identity.ImportOutcome{}, err
	}
	if key := identity.UsernameKey(u.Username); key != "" {
		var taken bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND username_key = $2)", u.TenantID, key).Scan(&taken); err != nil {
			return identity.ImportOutcome{}, err
		}
		if taken {
			return identity.ImportOutcome{Err: UsernameTaken(nil)}, nil
		}
	}
	return identity.ImportOutcome{Err: &identity.Error{Code: identity.ECONFLICT, Field: "id", Message: "a user with this id already exists"}}, nil
}
