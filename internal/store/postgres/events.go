package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/rowcodec"
)

// AppendEvents implements identity.EventStore; one statement is one transaction.
func (db *DB) AppendEvents(ctx context.Context, events ...identity.Event) error {
	if err := rowcodec.EventText(events); err != nil {
		return err
	}
	return formatError(insertEvents(ctx, db.pool, events))
}

// ListEvents implements identity.EventStore.
func (db *DB) ListEvents(ctx context.Context, tenantID string, f identity.EventFilter, p identity.Page) ([]*identity.Event, string, error) {
	before, err := rowcodec.AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := rowcodec.Limit(p)
	q := "SELECT id, tenant_id, user_id, session_id, type, created_at, data::text FROM events WHERE tenant_id = $1"
	args := []any{tenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + cond + " $" + itoa(len(args))
	}
	if before != "" {
		add("id <", before)
	}
	if f.Type != "" {
		add("type =", f.Type)
	}
	if f.UserID != "" {
		add("user_id =", f.UserID)
	}
	if !f.Since.IsZero() {
		add("created_at >=", f.Since.UTC())
	}
	if !f.Until.IsZero() {
		add("created_at <", f.Until.UTC())
	}
	args = append(args, n+1)
	rows, err := db.pool.Query(ctx, q+" ORDER BY id DESC LIMIT $"+itoa(len(args)), args...)
	out, err := collect(rows, err, func(r pgx.Row) (*identity.Event, error) {
		var e identity.Event
		var data string
		var at time.Time
		if err := r.Scan(&e.ID, &e.TenantID, &e.UserID, &e.SessionID, &e.Type, &at, &data); err != nil {
			return nil, err
		}
		e.CreatedAt = at.UTC()
		return &e, unjs(data, &e.Data)
	})
	if err != nil {
		return nil, "", err
	}
	return rowcodec.Page(out, n, func(e *identity.Event) string { return e.ID })
}
