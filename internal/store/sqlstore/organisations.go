package sqlstore

import (
	"context"
	"errors"

	"github.com/latchauth/latch/internal/identity"
)

const orgCols = "id, tenant_id, name, email, description, COALESCE(parent_id, ''), tags, profile, created_at, updated_at"

func scanOrg(r Row) (*identity.Organisation, error) {
	var o identity.Organisation
	var tags, profile string
	var created, updated Time
	if err := r.Scan(&o.ID, &o.TenantID, &o.Name, &o.Email, &o.Description, &o.ParentID, &tags, &profile, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = created.Time, updated.Time
	return &o, errors.Join(FromJSON(tags, &o.Tags), FromJSON(profile, &o.Profile))
}

// checkParent makes sure a parent exists in the same tenant and that the
// link makes no cycle. Where rows lock, the walk locks the rows it reads,
// so that two concurrent re-parentings cannot together make a cycle.
func (s Store) checkParent(ctx context.Context, tx Conn, o *identity.Organisation) error {
	for cur := o.ParentID; cur != ""; {
		if cur == o.ID {
			return identity.Invalid("parent_id", "would make the organisation its own ancestor")
		}
		var next string
		err := tx.QueryRow(ctx, "SELECT COALESCE(parent_id, '') FROM organisations WHERE id = $1 AND tenant_id = $2"+s.f.ForUpdate, cur, o.TenantID).Scan(&next)
		if s.f.NoRows(err) {
			if cur == o.ParentID {
				return &identity.Error{Code: identity.ENOTFOUND, Field: "parent_id", Message: "parent organisation not found"}
			}
			return nil
		} else if err != nil {
			return err
		}
		cur = next
	}
	return nil
}

// CreateOrganisation implements identity.OrganisationStore.
func (s Store) CreateOrganisation(ctx context.Context, o *identity.Organisation) error {
	if err := OrganisationText(o); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		if err := s.checkParent(ctx, tx, o); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO organisations (id, tenant_id, name, email, description, parent_id, tags,
			profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			o.ID, o.TenantID, o.Name, o.Email, o.Description, NullString(o.ParentID), JSON(o.Tags), JSON(o.Profile),
			s.f.Time(o.CreatedAt), s.f.Time(o.UpdatedAt))
		return err
	})
}

// GetOrganisation implements identity.OrganisationStore.
func (s Store) GetOrganisation(ctx context.Context, tenantID, id string) (*identity.Organisation, error) {
	return one(s, "organisation", s.f.Read.QueryRow(ctx, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = $1 AND id = $2", tenantID, id), scanOrg)
}

// UpdateOrganisation implements identity.OrganisationStore.
func (s Store) UpdateOrganisation(ctx context.Context, o *identity.Organisation) error {
	if err := OrganisationText(o); err != nil {
		return err
	}
	return s.f.Tx(ctx, func(tx Conn) error {
		if err := s.checkParent(ctx, tx, o); err != nil {
			return err
		}
		n, err := tx.Exec(ctx, `UPDATE organisations SET name = $1, email = $2, description = $3, parent_id = $4,
			tags = $5, profile = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9`,
			o.Name, o.Email, o.Description, NullString(o.ParentID), JSON(o.Tags), JSON(o.Profile), s.f.Time(o.UpdatedAt), o.TenantID, o.ID)
		if err == nil && n == 0 {
			return NotFound("organisation")
		}
		return err
	})
}

// DeleteOrganisation implements identity.OrganisationStore.
func (s Store) DeleteOrganisation(ctx context.Context, tenantID, id string) error {
	return s.execFound(ctx, "organisation", "DELETE FROM organisations WHERE tenant_id = $1 AND id = $2", tenantID, id)
}

// ListOrganisations implements identity.OrganisationStore.
func (s Store) ListOrganisations(ctx context.Context, tenantID string, p identity.Page) ([]*identity.Organisation, string, error) {
	after, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	out, err := list(ctx, s, scanOrg, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3", tenantID, after, n+1)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, func(o *identity.Organisation) string { return o.ID })
}
