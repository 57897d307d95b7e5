package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Ensure the move to cursors (version 6) loses no webhook and no event:
// events the previous dispatcher had not fanned out become pending
// deliveries of the endpoints subscribed to them, every event is kept with
// a seq in id (time) order, and the endpoints' cursors start after them.
func TestMigrationToCursors(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := old.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
	for _, name := range names {
		var v int
		fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%04d_", &v)
		if v >= 6 {
			break
		}
		body, _ := migrations.ReadFile(name)
		exec(string(body))
		exec("INSERT INTO schema_migrations VALUES (?, 0)", v)
	}
	now := time.Now().UnixMicro()
	tid, wid := identity.NewID(), identity.NewID()
	exec("INSERT INTO tenants (id, name, created_at, updated_at) VALUES (?, 'T', ?, ?)", tid, now, now)
	exec(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, signing, secret, status, created_at, updated_at)
		VALUES (?, ?, 'https://hooks.example', '["account.logged-in"]', 'standard-webhooks', x'01', 'healthy', ?, ?)`, wid, tid, now, now)
	ids := []string{identity.NewID(), identity.NewID(), identity.NewID(), identity.NewID()}
	// Inserted out of id order: the rebuild orders by id.
	for i, e := range []struct {
		id, typ string
		fanned  int
	}{{ids[1], identity.EventLoggedIn, 1}, {ids[0], identity.EventLoggedIn, 1}, {ids[3], identity.EventLoggedIn, 0}, {ids[2], identity.EventLoginFailed, 0}} {
		exec("INSERT INTO events (id, tenant_id, user_id, type, created_at, fanned_out) VALUES (?, ?, 'u', ?, ?, ?)", e.id, tid, e.typ, now+int64(i), e.fanned)
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var seqs []string
	rows, _ := db.r.QueryContext(ctx, "SELECT id FROM events ORDER BY seq")
	for rows.Next() {
		var id string
		rows.Scan(&id)
		seqs = append(seqs, id)
	}
	rows.Close()
	if strings.Join(seqs, ",") != strings.Join(ids, ",") {
		t.Fatalf("events by seq %v, want %v", seqs, ids)
	}
	due, _, err := db.DueDeliveries(ctx, wid, time.Now(), 10)
	if err != nil || len(due) != 1 || due[0].EventID != ids[3] || due[0].Status != identity.DeliveryPending {
		t.Fatalf("pending after the migration: %+v, %v; want the one unfanned logged-in event", due, err)
	}
	w, _ := db.GetWebhook(ctx, tid, wid)
	if evs, _ := db.ReadEvents(ctx, "", wid, w.Cursor, 10); len(evs) != 0 {
		t.Fatalf("the cursor does not start after the old events: %+v", evs)
	}
	e := identity.Event{ID: identity.NewID(), TenantID: tid, Type: identity.EventLoggedIn, CreatedAt: time.Now()}
	if err := db.AppendEvents(ctx, e); err != nil {
		t.Fatal(err)
	}
	if evs, _ := db.ReadEvents(ctx, "", wid, w.Cursor, 10); len(evs) != 1 || evs[0].ID != e.ID {
		t.Fatalf("a new event after the migration: %+v", evs)
	}
}
