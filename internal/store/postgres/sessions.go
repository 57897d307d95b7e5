package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlstore"
)

func itoa(n int) string { return strconv.Itoa(n) }

// CreateSession implements identity.LoginSessions (sqlstore.WriteLogin),
// with the events appended as arrays in one statement.
func (db *DB) CreateSession(ctx context.Context, s *identity.Session, w identity.SessionWrite) error {
	if err := sqlstore.LoginText(s, w); err != nil {
		return err
	}
	return db.tx(ctx, func(tx pgx.Tx) error {
		if err := db.WriteLogin(ctx, conn{tx}, s, w); err != nil {
			return err
		}
		return insertEvents(ctx, tx, w.Events)
	})
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

// AdvanceSession implements identity.LoginSessions.
func (db *DB) AdvanceSession(ctx context.Context, id string, from int64, now time.Time, events []identity.Event) error {
	if err := sqlstore.EventText(events); err != nil {
		return err
	}
	var n int
	var q string
	var args []any
	if len(events) == 1 {
		e := events[0]
		q, args = advanceOneSQL, []any{id, from, now.UTC(), e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, e.CreatedAt.UTC(), js(e.Data)}
	} else {
		q, args = advanceManySQL, append([]any{id, from, now.UTC()}, eventArrays(events)...)
	}
	if err := db.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return formatError(err)
	}
	if n == 0 {
		return &identity.Error{Code: identity.ECONFLICT, Message: "session moved on or was revoked"}
	}
	return nil
}

// RevokeSession implements identity.LoginSessions. Events are appended only
// by the call that revokes, so concurrent revocations record one event.
func (db *DB) RevokeSession(ctx context.Context, id string, now time.Time, reason string, events []identity.Event) error {
	if err := errors.Join(sqlstore.Text("revoke_reason", reason), sqlstore.EventText(events)); err != nil {
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
