package sqlite

import (
	"context"
	"database/sql"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, events []identity.Event) error {
	if len(events) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, db.insertEvent)
	for _, e := range events {
		if _, err := st.ExecContext(ctx, e.ID, e.TenantID, e.UserID, e.SessionID, e.Type, tm(e.CreatedAt), js(e.Data)); err != nil {
			return err
		}
	}
	return nil
}

// AppendEvents implements identity.EventStore.
func (db *DB) AppendEvents(ctx context.Context, events ...identity.Event) error {
	if err := rowcodec.EventText(events); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error { return db.insertEvents(ctx, tx, events) })
}

// ListEvents implements identity.EventStore.
func (db *DB) ListEvents(ctx context.Context, tenantID string, f identity.EventFilter, p identity.Page) ([]*identity.Event, string, error) {
	before, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	q := "SELECT id, tenant_id, user_id, session_id, type, created_at, data FROM events WHERE tenant_id = ?"
	args := []any{tenantID}
	if before != "" {
		q += " AND id < ?"
		args = append(args, before)
	}
	if f.Type != "" {
		q += " AND type = ?"
		args = append(args, f.Type)
	}
	if f.UserID != "" {
		q += " AND user_id = ?"
		args = append(args, f.UserID)
	}
	if !f.Since.IsZero() {
		q += " AND created_at >= ?"
		args = append(args, tm(f.Since))
	}
	if !f.Until.IsZero() {
		q += " AND created_at < ?"
		args = append(args, tm(f.Until))
	}
	rows, err := db.r.QueryContext(ctx, q+" ORDER BY id DESC LIMIT ?", append(args, n+1)...)
	if err != nil {
		return nil, "", formatError(err)
	}
	defer rows.Close()
	var out []*identity.Event
	for rows.Next() {
		var e identity.Event
		var data string
		var at sql.NullInt64
		if err := rows.Scan(&e.ID, &e.TenantID, &e.UserID, &e.SessionID, &e.Type, &at, &data); err != nil {
			return nil, "", formatError(err)
		}
		e.CreatedAt = ts(at)
		if err := unjs(data, &e.Data); err != nil {
			return nil, "", err
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", formatError(err)
	}
	return rowcodec.Page(out, n, func(e *identity.Event) string { return e.ID })
}
