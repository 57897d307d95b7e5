package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// tenantCols are qualified so that ownersSQL can join them.
const tenantCols = "tenants.id, tenants.name, COALESCE(tenants.alias, ''), tenants.settings::text, tenants.created_at, tenants.updated_at"

func scanTenant(r pgx.Row) (*identity.Tenant, error) { return scanWith(r, tenantScanner) }

func tenantScanner() (*identity.Tenant, []any, func() error) {
	var t identity.Tenant
	var settings string
	var created, updated time.Time
	return &t, []any{&t.ID, &t.Name, &t.Alias, &settings, &created, &updated}, func() error {
		t.CreatedAt, t.UpdatedAt = created.UTC(), updated.UTC()
		return unjs(settings, &t.Settings)
	}
}

// scanWith scans one row through a scanner's destinations and finisher.
func scanWith[T any](r pgx.Row, scanner func() (T, []any, func() error)) (T, error) {
	v, dests, finish := scanner()
	if err := r.Scan(dests...); err != nil {
		var zero T
		return zero, err
	}
	return v, finish()
}

// CreateTenant implements identity.TenantStore.
func (db *DB) CreateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := rowcodec.TenantText(t); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, "INSERT INTO tenants (id, name, alias, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
		t.ID, t.Name, nullStr(t.Alias), js(t.Settings), t.CreatedAt.UTC(), t.UpdatedAt.UTC())
	return formatError(err)
}

func (db *DB) oneTenant(ctx context.Context, where string, arg any) (*identity.Tenant, error) {
	t, err := scanTenant(db.pool.QueryRow(ctx, "SELECT "+tenantCols+" FROM tenants WHERE "+where, arg))
	if noRows(err) {
		return nil, notFound("tenant")
	}
	return t, formatError(err)
}

// GetTenant implements identity.TenantStore.
func (db *DB) GetTenant(ctx context.Context, id string) (*identity.Tenant, error) {
	return db.oneTenant(ctx, "id = $1", id)
}

// GetTenantByAlias implements identity.TenantStore.
func (db *DB) GetTenantByAlias(ctx context.Context, alias string) (*identity.Tenant, error) {
	return db.oneTenant(ctx, "alias = $1", alias)
}

// UpdateTenant implements identity.TenantStore.
func (db *DB) UpdateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := rowcodec.TenantText(t); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, "UPDATE tenants SET name = $1, alias = $2, settings = $3, updated_at = $4 WHERE id = $5",
		t.Name, nullStr(t.Alias), js(t.Settings), t.UpdatedAt.UTC(), t.ID)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "tenant")
}

// DeleteTenant implements identity.TenantStore.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, "DELETE FROM tenants WHERE id = $1", id)
	if err != nil {
		return formatError(err)
	}
	return affected(tag, "tenant")
}

// ListTenants implements identity.TenantStore.
func (db *DB) ListTenants(ctx context.Context, p identity.Page) ([]*identity.Tenant, string, error) {
	after, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	rows, err := db.pool.Query(ctx, "SELECT "+tenantCols+" FROM tenants WHERE id > $1 ORDER BY id LIMIT $2", after, n+1)
	out, err := collect(rows, err, scanTenant)
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(t *identity.Tenant) string { return t.ID })
}
