package postgres

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

// insertUsersSQL inserts a batch of user rows in one statement, from one
// array per column: one round trip, however many rows.
const insertUsersSQL = `INSERT INTO users (id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
	first_name, last_name, role, roles, status, tags, metadata, profile, created_at, updated_at)
SELECT id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
	first_name, last_name, role, roles::jsonb, status, tags::jsonb, metadata::jsonb, profile::jsonb, created_at, updated_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[],
	$9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[], $18::timestamptz[])
	AS x(id, tenant_id, email, email_key, username, username_key, email_verified, password_hash,
	first_name, last_name, role, roles, status, tags, metadata, profile, created_at, updated_at)
ON CONFLICT DO NOTHING RETURNING id`

// insertUsers is sqlstore's InsertUsers for PostgreSQL.
func insertUsers(ctx context.Context, tx sqlstore.Conn, users []*identity.User) ([]bool, error) {
	n := len(users)
	if n == 0 {
		return nil, nil
	}
	text := make([][]string, 14) // the text columns, in insertUsersSQL's order but username_key
	for i := range text {
		text[i] = make([]string, n)
	}
	usernameKeys, verified := make([]*string, n), make([]bool, n)
	created, updated := make([]time.Time, n), make([]time.Time, n)
	for i, u := range users {
		for c, v := range []string{u.ID, u.TenantID, u.Email, identity.EmailKey(u.Email), u.Username, u.PasswordHash, u.FirstName,
			u.LastName, u.Role, sqlstore.JSON(u.Roles), u.Status, sqlstore.JSON(u.Tags), sqlstore.JSON(u.Metadata), sqlstore.JSON(u.Profile)} {
			text[c][i] = v
		}
		if k := identity.UsernameKey(u.Username); k != "" {
			usernameKeys[i] = &k
		}
		verified[i], created[i], updated[i] = u.EmailVerified, u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	}
	rows, err := tx.Query(ctx, insertUsersSQL, text[0], text[1], text[2], text[3], text[4], usernameKeys, verified, text[5],
		text[6], text[7], text[8], text[9], text[10], text[11], text[12], text[13], created, updated)
	ids, err := sqlstore.Collect(rows, err, func(r sqlstore.Row) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	got := make(map[string]bool, len(ids))
	for _, id := range ids {
		got[id] = true
	}
	inserted := make([]bool, n)
	for i, u := range users {
		// Two rows of the batch may share an id only if the file repeats
		// one: the first is the one inserted.
		inserted[i] = got[u.ID]
		delete(got, u.ID)
	}
	return inserted, nil
}
