package sqlite

import (
	"context"

	"github.com/latchauth/latch/internal/identity"
)

// GetUser implements identity.UserReader with a prepared statement, as
// GetUserByEmail: logins read the user.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (*identity.User, error) {
	return db.User(db.getUser.QueryRowContext(ctx, tenantID, id))
}

// GetUserByEmail implements identity.UserReader.
func (db *DB) GetUserByEmail(ctx context.Context, tenantID, email string) (*identity.User, error) {
	return db.User(db.getUserByEmail.QueryRowContext(ctx, tenantID, identity.EmailKey(email)))
}
