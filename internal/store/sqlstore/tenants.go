package sqlstore

import (
	"context"

	"github.com/latchauth/latch/internal/identity"
)

// TenantCols are a tenant's columns as TenantScanner reads them, qualified
// so that OwnersSQL can join them.
const TenantCols = "tenants.id, tenants.name, COALESCE(tenants.alias, ''), tenants.settings, tenants.created_at, tenants.updated_at"

// ScanTenant reads TenantCols.
func ScanTenant(r Row) (*identity.Tenant, error) { return scanWith(r, TenantScanner) }

// TenantScanner returns a tenant, the destinations of TenantCols and what
// to do once they are filled.
func TenantScanner() (*identity.Tenant, []any, func() error) {
	var t identity.Tenant
	var settings string
	var created, updated Time
	return &t, []any{&t.ID, &t.Name, &t.Alias, &settings, &created, &updated}, func() error {
		t.CreatedAt, t.UpdatedAt = created.Time, updated.Time
		return settingsJSON.decode(settings, &t.Settings)
	}
}

// CreateTenant implements identity.TenantStore.
func (s Store) CreateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := TenantText(t); err != nil {
		return err
	}
	_, err := s.exec(ctx, "INSERT INTO tenants (id, name, alias, settings, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
		t.ID, t.Name, NullString(t.Alias), JSON(t.Settings), s.f.Time(t.CreatedAt), s.f.Time(t.UpdatedAt))
	return err
}

// GetTenant implements identity.TenantReader.
func (s Store) GetTenant(ctx context.Context, id string) (*identity.Tenant, error) {
	return s.Tenant(s.f.Read.QueryRow(ctx, "SELECT "+TenantCols+" FROM tenants WHERE id = $1", id))
}

// Tenant reads a row of TenantCols, with the store's errors.
func (s Store) Tenant(row Row) (*identity.Tenant, error) { return one(s, "tenant", row, ScanTenant) }

// GetTenantByAlias implements identity.TenantStore.
func (s Store) GetTenantByAlias(ctx context.Context, alias string) (*identity.Tenant, error) {
	return s.Tenant(s.f.Read.QueryRow(ctx, "SELECT "+TenantCols+" FROM tenants WHERE alias = $1", alias))
}

// UpdateTenant implements identity.TenantStore.
func (s Store) UpdateTenant(ctx context.Context, t *identity.Tenant) error {
	if err := TenantText(t); err != nil {
		return err
	}
	return s.execFound(ctx, "tenant", "UPDATE tenants SET name = $1, alias = $2, settings = $3, updated_at = $4 WHERE id = $5",
		t.Name, NullString(t.Alias), JSON(t.Settings), s.f.Time(t.UpdatedAt), t.ID)
}

// DeleteTenant implements identity.TenantStore.
func (s Store) DeleteTenant(ctx context.Context, id string) error {
	return s.execFound(ctx, "tenant", "DELETE FROM tenants WHERE id = $1", id)
}

// ListTenants implements identity.TenantStore.
func (s Store) ListTenants(ctx context.Context, p identity.Page) ([]*identity.Tenant, string, error) {
	after, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	out, err := list(ctx, s, ScanTenant, "SELECT "+TenantCols+" FROM tenants WHERE id > $1 ORDER BY id LIMIT $2", after, n+1)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, func(t *identity.Tenant) string { return t.ID })
}
