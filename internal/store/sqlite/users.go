package sqlite

import (
	"context"
	"database/sql"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
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

// insertUsers is sqlstore's InsertUsers for SQLite: one prepared
// statement run per row, in the batch's transaction.
func (db *DB) insertUsers(ctx context.Context, tx sqlstore.Conn, users []*identity.User) ([]bool, error) {
	st, err := tx.(conn).q.(*sql.Tx).PrepareContext(ctx, numbered(sqlstore.InsertUserSQL+" ON CONFLICT DO NOTHING"))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	inserted := make([]bool, len(users))
	for i, u := range users {
		res, err := st.ExecContext(ctx, db.UserArgs(u)...)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		inserted[i] = n == 1
	}
	return inserted, nil
}
