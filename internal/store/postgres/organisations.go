package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const orgCols = "id, tenant_id, name, email, description, COALESCE(parent_id, ''), tags::text, profile::text, created_at, updated_at"

func scanOrg(r pgx.Row) (*identity.Organisation, error) {
	var o identity.Organisation
	var tags, profile string
	var created, updated time.Time
	if err := r.Scan(&o.ID, &o.TenantID, &o.Name, &o.Email, &o.Description, &o.ParentID, &tags, &profile, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = created.UTC(), updated.UTC()
	return &o, errors.Join(unjs(tags, &o.Tags), unjs(profile, &o.Profile))
}

// checkParent makes sure a parent exists in the same tenant and that the
// link makes no cycle. The walk locks the rows it reads, so that two
// concurrent re-parentings cannot together make a cycle.
func checkParent(ctx context.Context, tx pgx.Tx, o *identity.Organisation) error {
	for cur := o.ParentID; cur != ""; {
		if cur == o.ID {
			return identity.Invalid("parent_id", "would make the organisation its own ancestor")
		}
		var next string
		err := tx.QueryRow(ctx, "SELECT COALESCE(parent_id, '') FROM organisations WHERE id = $1 AND tenant_id = $2 FOR UPDATE", cur, o.TenantID).Scan(&next)
		if noRows(err) {
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
func (db *DB) CreateOrganisation(ctx context.Context, o *identity.Organisation) error {
	if err := rowcodec.OrganisationText(o); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := checkParent(ctx, tx, o); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO organisations (id, tenant_id, name, email, description, parent_id, tags,
			profile, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			o.ID, o.TenantID, o.Name, o.Email, o.Description, nullStr(o.ParentID), js(o.Tags), js(o.Profile),
			o.CreatedAt.UTC(), o.UpdatedAt.UTC())
		return err
	})
}

// GetOrganisation implements identity.OrganisationStore.
func (db *DB) GetOrganisation(ctx context.Context, tenantID, id string) (*identity.Organisation, error) {
	o, err := scanOrg(db.pool.QueryRow(ctx, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = $1 AND id = $2", tenantID, id))
	if noRows(err) {
		return nil, notFound("organisation")
	}
	return o, formatError(err)
}

// UpdateOrganisation implements identity.OrganisationStore.
func (db *DB) UpdateOrganisation(ctx context.Context, o *identity.Organisation) error {
	if err := rowcodec.OrganisationText(o); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := checkParent(ctx, tx, o); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE organisations SET name = $1, email = $2, description = $3, parent_id = $4,
			tags = $5, profile = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9`,
			o.Name, o.Email, o.Description, nullStr(o.ParentID), js(o.Tags), js(o.Profile), o.UpdatedAt.UTC(), o.TenantID, o.ID)
		if err != nil {
			return err
		}
		return affected(tag, "organisation")
	})
}

// DeleteOrganisation implements identity.OrganisationStore.
func (db *DB) DeleteOrganisation(ctx context.Context, tenantID, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM organisations WHERE tenant_id = $1 AND id = $2", tenantID, id)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "organisation")
}

// ListOrganisations implements identity.OrganisationStore.
func (db *DB) ListOrganisations(ctx context.Context, tenantID string, p identity.Page) ([]*identity.Organisation, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	rows, err := db.pool.Query(ctx, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3", tenantID, after, n+1)
	out, err := collect(rows, err, scanOrg)
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(o *identity.Organisation) string { return o.ID })
}
