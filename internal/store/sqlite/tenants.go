package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// tenantCols are qualified so that ownersSQL can join them.
const tenantCols = "tenants.id, tenants.name, COALESCE(tenants.alias, ''), tenants.settings, tenants.created_at, tenants.updated_at"

func scanTenant(s scanner) (*identity.Tenant, error) { return scanWith(s, tenantScanner) }

func tenantScanner() (*identity.Tenant, []any, func() error) {
	var t identity.Tenant
	var settings string
	var created, updated sql.NullInt64
	return &t, []any{&t.ID, &t.Name, &t.Alias, &settings, &created, &updated}, func() error {
		t.CreatedAt, t.UpdatedAt = ts(created), ts(updated)
		return unjs(settings, &t.Settings)
	}
}

// CreateTenant implements identity.TenantStore.
func (db *DB) CreateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := rowcodec.TenantText(t); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO tenants (id, name, alias, settings, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
			t.ID, t.Name, nullStr(t.Alias), js(t.Settings), tm(t.CreatedAt), tm(t.UpdatedAt))
		return err
	})
}

// GetTenant implements identity.TenantStore.
func (db *DB) GetTenant(ctx context.Context, id string) (*identity.Tenant, error) {
	t, err := scanTenant(db.getTenant.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant")
	}
	return t, formatError(err)
}

// GetTenantByAlias implements identity.TenantStore.
func (db *DB) GetTenantByAlias(ctx context.Context, alias string) (*identity.Tenant, error) {
	t, err := scanTenant(db.r.QueryRowContext(ctx, "SELECT "+tenantCols+" FROM tenants WHERE alias = ?", alias))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant")
	}
	return t, formatError(err)
}

// UpdateTenant implements identity.TenantStore.
func (db *DB) UpdateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := rowcodec.TenantText(t); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE tenants SET name = ?, alias = ?, settings = ?, updated_at = ? WHERE id = ?",
			t.Name, nullStr(t.Alias), js(t.Settings), tm(t.UpdatedAt), t.ID)
		if err != nil {
			return err
		}
		return affected(res, "tenant")
	})
}

// DeleteTenant implements identity.TenantStore.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM tenants WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "tenant")
	})
}

// ListTenants implements identity.TenantStore.
func (db *DB) ListTenants(ctx context.Context, p identity.Page) ([]*identity.Tenant, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	rows, err := db.r.QueryContext(ctx, "SELECT "+tenantCols+" FROM tenants WHERE id > ? ORDER BY id LIMIT ?", after, n+1)
	if err != nil {
		return nil, "", formatError(err)
	}
	defer rows.Close()
	var out []*identity.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, "", formatError(err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, "", formatError(err)
	}
	return rowcodec.Page(out, n, func(t *identity.Tenant) string { return t.ID })
}
