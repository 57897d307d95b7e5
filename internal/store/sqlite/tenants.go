package sqlite

import (
	"context"

	"github.com/latchauth/latch/internal/identity"
)

// GetTenant implements identity.TenantReader with a prepared statement:
// every login and refresh reads the tenant.
func (db *DB) GetTenant(ctx context.Context, id string) (*identity.Tenant, error) {
	return db.Tenant(db.getTenant.QueryRowContext(ctx, id))
}
