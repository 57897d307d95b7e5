package sqlstore

import (
	"context"
	"strconv"

	"github.com/latchauth/latch/internal/identity"
)

// ListEvents implements identity.EventLister.
func (s Store) ListEvents(ctx context.Context, tenantID string, f identity.EventFilter, p identity.Page) ([]*identity.Event, string, error) {
	before, err := AfterCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	n := Limit(p)
	q := "SELECT id, tenant_id, user_id, session_id, type, created_at, data FROM events WHERE tenant_id = $1"
	args := []any{tenantID}
	add := func(cond string, v any) {
		args = append(args, v)
		q += " AND " + cond + " $" + strconv.Itoa(len(args))
	}
	if before != "" {
		add("id <", before)
	}
	if f.ID != "" {
		add("id =", f.ID)
	}
	if f.Type != "" {
		add("type =", f.Type)
	}
	if f.UserID != "" {
		add("user_id =", f.UserID)
	}
	if !f.Since.IsZero() {
		add("created_at >=", s.f.Time(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at <", s.f.Time(f.Until))
	}
	args = append(args, n+1)
	out, err := list(ctx, s, func(r Row) (*identity.Event, error) {
		var e identity.Event
		var data string
		var at Time
		if err := r.Scan(&e.ID, &e.TenantID, &e.UserID, &e.SessionID, &e.Type, &at, &data); err != nil {
			return nil, err
		}
		e.CreatedAt = at.Time
		return &e, FromJSON(data, &e.Data)
	}, q+" ORDER BY id DESC LIMIT $"+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", err
	}
	return Page(out, n, func(e *identity.Event) string { return e.ID })
}
