package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const orgCols = "id, tenant_id, name, email, description, COALESCE(parent_id, ''), tags, profile, created_at, updated_at"

func scanOrg(s scanner) (*identity.Organisation, error) {
	var o identity.Organisation
	var tags, profile string
	var created, updated sql.NullInt64
	if err := s.Scan(&o.ID, &o.TenantID, &o.Name, &o.Email, &o.Description, &o.ParentID, &tags, &profile, &created, &updated); err != nil {
		return nil, err
	}
	o.CreatedAt, o.UpdatedAt = ts(created), ts(updated)
	return &o, errors.Join(unjs(tags, &o.Tags), unjs(profile, &o.Profile))
}

// checkParent makes sure a parent exists in the same tenant and that the
// link makes no cycle.
func checkParent(ctx context.Context, tx *sql.Tx, o *identity.Organisation) error {
	for cur := o.ParentID; cur != ""; {
		if cur == o.ID {
			return identity.Invalid("parent_id", "would make the organisation its own ancestor")
		}
		var next string
		err := tx.QueryRowContext(ctx, "SELECT COALESCE(parent_id, '') FROM organisations WHERE id = ? AND tenant_id = ?", cur, o.TenantID).Scan(&next)
		if errors.Is(err, sql.ErrNoRows) {
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
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := checkParent(ctx, tx, o); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO organisations (id, tenant_id, name, email, description, parent_id, tags,
			profile, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			o.ID, o.TenantID, o.Name, o.Email, o.Description, nullStr(o.ParentID), js(o.Tags), js(o.Profile),
			tm(o.CreatedAt), tm(o.UpdatedAt))
		return err
	})
}

// GetOrganisation implements identity.OrganisationStore.
func (db *DB) GetOrganisation(ctx context.Context, tenantID, id string) (*identity.Organisation, error) {
	o, err := scanOrg(db.r.QueryRowContext(ctx, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = ? AND id = ?", tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("organisation")
	}
	return o, formatError(err)
}

// UpdateOrganisation implements identity.OrganisationStore.
func (db *DB) UpdateOrganisation(ctx context.Context, o *identity.Organisation) error {
	if err := rowcodec.OrganisationText(o); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := checkParent(ctx, tx, o); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE organisations SET name = ?, email = ?, description = ?, parent_id = ?,
			tags = ?, profile = ?, updated_at = ? WHERE tenant_id = ? AND id = ?`,
			o.Name, o.Email, o.Description, nullStr(o.ParentID), js(o.Tags), js(o.Profile), tm(o.UpdatedAt), o.TenantID, o.ID)
		if err != nil {
			return err
		}
		return affected(res, "organisation")
	})
}

// DeleteOrganisation implements identity.OrganisationStore.
func (db *DB) DeleteOrganisation(ctx context.Context, tenantID, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM organisations WHERE tenant_id = ? AND id = ?", tenantID, id)
		if err != nil {
			return err
		}
		return affected(res, "organisation")
	})
}

// ListOrganisations implements identity.OrganisationStore.
func (db *DB) ListOrganisations(ctx context.Context, tenantID string, p identity.Page) ([]*identity.Organisation, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	rows, err := db.r.QueryContext(ctx, "SELECT "+orgCols+" FROM organisations WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?", tenantID, after, n+1)
	if err != nil {
		return nil, "", formatError(err)
	}
	defer rows.Close()
	var out []*identity.Organisation
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, "", formatError(err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", formatError(err)
	}
	return rowcodec.Page(out, n, func(o *identity.Organisation) string { return o.ID })
}
