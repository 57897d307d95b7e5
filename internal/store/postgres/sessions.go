package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

const sessionColumns = `id, tenant_id, user_id, generation, created_at, expires_at, last_seen_at, rotated_at, revoked_at,
	revoke_reason, user_agent, origin, ip, dialect, amr, device_name, kind`

// sessionCols is sessionColumns as scanSession reads them, qualified so
// that ownersSQL can join them with the tenant's and user's.
const sessionCols = `sessions.id, sessions.tenant_id, sessions.user_id, sessions.generation, sessions.created_at,
	sessions.expires_at, sessions.last_seen_at, sessions.rotated_at, sessions.revoked_at, sessions.revoke_reason,
	sessions.user_agent, sessions.origin, sessions.ip, sessions.dialect, sessions.amr::text, sessions.device_name, sessions.kind`

func itoa(n int) string { return strconv.Itoa(n) }

func scanSession(r pgx.Row) (*identity.Session, error) { return scanWith(r, sessionScanner) }

// sessionScanner returns a session, the destinations for sessionCols and
// what to do once they are filled; scanWith and GetSessionWithOwners use it.
func sessionScanner() (*identity.Session, []any, func() error) {
	var x identity.Session
	var amr string
	var created, expires, seen, rotated time.Time
	var revoked *time.Time
	return &x, []any{&x.ID, &x.TenantID, &x.UserID, &x.Generation, &created, &expires, &seen, &rotated, &revoked,
			&x.RevokeReason, &x.UserAgent, &x.Origin, &x.IP, &x.Dialect, &amr, &x.DeviceName, &x.Kind}, func() error {
			x.CreatedAt, x.ExpiresAt, x.LastSeenAt, x.RotatedAt, x.RevokedAt = created.UTC(), expires.UTC(), seen.UTC(), rotated.UTC(), tv(revoked)
			return unjs(amr, &x.AMR)
		}
}

// CreateSession implements identity.SessionStore. The user's row is
// written first, which locks it until the commit: with Checked that write
// is the compare-and-swap on the hash and status the login verified (an
// UPDATE that waited for a concurrent password change re-checks its WHERE
// on the committed row), and two logins of one user, say two that each
// replace a device's grant, take their turns on it, so the second sees
// the first's grant and revokes it instead of colliding with it on the
// index sessions_live_grant.
func (db *DB) CreateSession(ctx context.Context, s *identity.Session, w identity.SessionWrite) error {
	if err := errors.Join(rowcodec.SessionText(s), rowcodec.SessionText(w.Grant), rowcodec.EventText(w.Events),
		rowcodec.Text("password_hash", w.NewPasswordHash, "address", w.KnownAddress)); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		at := s.CreatedAt.UTC()
		if c := w.Checked; c != nil {
			hash := c.PasswordHash
			if w.NewPasswordHash != "" {
				hash = w.NewPasswordHash
			}
			tag, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $1, last_seen_at = $1, password_hash = $2,
				updated_at = CASE WHEN password_hash = $2 THEN updated_at ELSE $1 END
				WHERE id = $3 AND password_hash = $4 AND status = $5`, at, hash, s.UserID, c.PasswordHash, c.Status)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return rowcodec.UserChanged()
			}
		} else if _, err := tx.Exec(ctx, "UPDATE users SET last_login_at = $1, last_seen_at = $1 WHERE id = $2", at, s.UserID); err != nil {
			return err
		}
		for _, x := range []*identity.Session{s, w.Grant} {
			if err := insertSession(ctx, tx, x); err != nil {
				return err
			}
		}
		if w.KnownAddress != "" {
			if err := rememberAddress(ctx, tx, s.UserID, w.KnownAddress, s.CreatedAt); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, w.Events)
	})
}

// insertSession inserts s; a grant first revokes the live grant of its
// device (the partial unique index sessions_live_grant holds the rule).
func insertSession(ctx context.Context, tx pgx.Tx, s *identity.Session) error {
	if s == nil {
		return nil
	}
	if s.Kind == identity.SessionReauth {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
			WHERE tenant_id = $3 AND user_id = $4 AND device_name = $5 AND kind = $6 AND revoked_at IS NULL`,
			s.CreatedAt.UTC(), identity.ReasonGrantReplaced, s.TenantID, s.UserID, s.DeviceName, s.Kind); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
		$11, $12, $13, $14, $15, $16, $17)`,
		s.ID, s.TenantID, s.UserID, s.Generation, s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastSeenAt.UTC(), s.RotatedAt.UTC(),
		tp(s.RevokedAt), s.RevokeReason, s.UserAgent, s.Origin, s.IP, s.Dialect, js(s.AMR), s.DeviceName, s.Kind)
	return err
}

// GetSession implements identity.SessionStore.
func (db *DB) GetSession(ctx context.Context, id string) (*identity.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, "SELECT "+sessionCols+" FROM sessions WHERE id = $1", id))
	if noRows(err) {
		return nil, notFound("session")
	}
	return s, formatError(err)
}

// eventArrays lays events out as the parallel arrays unnest() reads.
func eventArrays(events []identity.Event) []any {
	ids, tenants, users, sessions, types, data := make([]string, len(events)), make([]string, len(events)),
		make([]string, len(events)), make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
	at := make([]time.Time, len(events))
	for i, e := range events {
		ids[i], tenants[i], users[i], sessions[i], types[i], at[i], data[i] = e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, e.CreatedAt.UTC(), js(e.Data)
	}
	return []any{ids, tenants, users, sessions, types, at, data}
}

// insertEventsFrom is the INSERT … SELECT of events from the arrays at
// parameters $n … $n+6.
func insertEventsFrom(n int) string {
	p := func(i int, typ string) string { return "$" + itoa(n+i) + "::" + typ + "[]" }
	return `INSERT INTO events (id, tenant_id, user_id, session_id, type, created_at, data)
		SELECT x.id, x.tenant_id, x.user_id, x.session_id, x.type, x.created_at, x.data::jsonb
		FROM unnest(` + p(0, "text") + `, ` + p(1, "text") + `, ` + p(2, "text") + `, ` + p(3, "text") + `, ` +
		p(4, "text") + `, ` + p(5, "timestamptz") + `, ` + p(6, "text") + `) AS x(id, tenant_id, user_id, session_id, type, created_at, data)`
}

func insertEvents(ctx context.Context, q querier, events []identity.Event) error {
	if len(events) == 0 {
		return nil
	}
	_, err := q.Exec(ctx, insertEventsFrom(1), eventArrays(events)...)
	return err
}

// advanceSQL rotates a session in one statement, so one round trip: the
// compare-and-swap on the generation, the user's last-seen and the events
// are written together or not at all (the events only if the swap won).
// The user's last-seen moves only when it is a minute old: every refresh
// of every session of a user would otherwise queue on that user's row.
func advanceSQL(events string) string {
	return `WITH s AS (
	UPDATE sessions SET generation = generation + 1, rotated_at = $3, last_seen_at = $3
	WHERE id = $1 AND generation = $2 AND revoked_at IS NULL RETURNING user_id
), u AS (
	UPDATE users SET last_seen_at = $3 WHERE id IN (SELECT user_id FROM s)
		AND (last_seen_at IS NULL OR last_seen_at < $3 - interval '1 minute')
), e AS (` + events + ` WHERE EXISTS (SELECT 1 FROM s)
)
SELECT count(*) FROM s`
}

var (
	advanceManySQL = advanceSQL(insertEventsFrom(4))
	// The usual case, one event, as plain parameters: no arrays to build
	// and unnest.
	advanceOneSQL = advanceSQL(`INSERT INTO events (id, tenant_id, user_id, session_id, type, created_at, data)
		SELECT $4, $5, $6, $7, $8, $9, $10::jsonb`)
)

// AdvanceSession implements identity.SessionStore.
func (db *DB) AdvanceSession(ctx context.Context, id string, from int64, now time.Time, events []identity.Event) error {
	if err := rowcodec.EventText(events); err != nil {
		return err
	}
	var n int
	q, args := advanceManySQL, append([]any{id, from, now.UTC()}, eventArrays(events)...)
	if len(events) == 1 {
		e := events[0]
		q, args = advanceOneSQL, []any{id, from, now.UTC(), e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, e.CreatedAt.UTC(), js(e.Data)}
	}
	if err := db.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return formatError(err)
	}
	if n == 0 {
		return &identity.Error{Code: identity.ECONFLICT, Message: "session moved on or was revoked"}
	}
	return nil
}

// RevokeSession implements identity.SessionStore. Events are appended only
// by the call that revokes, so concurrent revocations record one event.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time, reason string, events []identity.Event) error {
	if err := errors.Join(rowcodec.Text("revoke_reason", reason), rowcodec.EventText(events)); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL", now.UTC(), reason, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)", id).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return notFound("session")
			}
			return nil
		}
		return insertEvents(ctx, tx, events)
	})
}

// RevokeUserSessions implements identity.SessionStore.
func (db *DB) RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time, reason string) (int, error) {
	if err := rowcodec.Text("revoke_reason", reason); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE tenant_id = $3 AND user_id = $4 AND revoked_at IS NULL",
		now.UTC(), reason, tenantID, userID)
	if err != nil {
		return 0, formatError(err)
	}
	return int(tag.RowsAffected()), nil
}

// RevokeDeviceSessions implements identity.SessionStore.
func (db *DB) RevokeDeviceSessions(ctx context.Context, tenantID, userID, device, kind string, now time.Time, reason string) (int, error) {
	if err := rowcodec.Text("device_name", device, "revoke_reason", reason); err != nil {
		return 0, err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
		WHERE tenant_id = $3 AND user_id = $4 AND device_name = $5 AND kind = $6 AND revoked_at IS NULL`,
		now.UTC(), reason, tenantID, userID, device, kind)
	if err != nil {
		return 0, formatError(err)
	}
	return int(tag.RowsAffected()), nil
}

// ListUserSessions implements identity.SessionStore.
func (db *DB) ListUserSessions(ctx context.Context, tenantID, userID string) ([]*identity.Session, error) {
	rows, err := db.pool.Query(ctx, "SELECT "+sessionCols+" FROM sessions WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at DESC, id DESC LIMIT 1000", tenantID, userID)
	return collect(rows, err, scanSession)
}

// ownersSQL reads a session, its tenant and its user in one statement
// (identity.SessionStore): a refresh needs all three, and one round
// trip instead of three is most of the difference in its throughput.
const ownersSQL = "SELECT " + sessionCols + ", " + tenantCols + ", " + userCols + ` FROM sessions
	JOIN tenants ON tenants.id = sessions.tenant_id
	JOIN users ON users.id = sessions.user_id AND users.tenant_id = sessions.tenant_id
	WHERE sessions.id = $1`

// GetSessionWithOwners implements identity.SessionStore.
func (db *DB) GetSessionWithOwners(ctx context.Context, id string) (*identity.Session, *identity.Tenant, *identity.User, error) {
	sess, sd, sf := sessionScanner()
	t, td, tf := tenantScanner()
	u, ud, uf := userScanner()
	err := db.pool.QueryRow(ctx, ownersSQL, id).Scan(append(append(sd, td...), ud...)...)
	if noRows(err) {
		return nil, nil, nil, notFound("session")
	} else if err != nil {
		return nil, nil, nil, formatError(err)
	}
	if err := errors.Join(sf(), tf(), uf()); err != nil {
		return nil, nil, nil, err
	}
	return sess, t, u, nil
}
