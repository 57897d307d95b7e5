package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// Ensure the move to cursors (version 5) loses no webhook: events the
// previous dispatchers had not fanned out become pending deliveries of the
// endpoints subscribed to them, the cursors start after the old events,
// and new events are marked fanned out for instances of the previous
// version still rolling out.
func TestMigrationToCursors(t *testing.T) {
	ctx := context.Background()
	url := postgrestest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)")
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	for _, name := range names {
		var v int
		fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%04d_", &v)
		if v >= 5 {
			break
		}
		body, _ := migrations.ReadFile(name)
		exec(string(body))
		exec("INSERT INTO schema_migrations VALUES ($1, now())", v)
	}
	tid, wid := identity.NewID(), identity.NewID()
	exec("INSERT INTO tenants (id, name, created_at, updated_at) VALUES ($1, 'T', now(), now())", tid)
	exec(`INSERT INTO webhook_endpoints (id, tenant_id, url, events, signing, secret, status, created_at, updated_at)
		VALUES ($1, $2, 'https://hooks.example', '["account.logged-in"]', 'standard-webhooks', '\x01', 'healthy', now(), now())`, wid, tid)
	done, pending, other := identity.NewID(), identity.NewID(), identity.NewID()
	exec("INSERT INTO events (id, tenant_id, user_id, type, created_at, fanned_out) VALUES ($1, $2, 'u', $3, now(), true)", done, tid, identity.EventLoggedIn)
	exec("INSERT INTO events (id, tenant_id, user_id, type, created_at, fanned_out) VALUES ($1, $2, 'u', $3, now(), false)", pending, tid, identity.EventLoggedIn)
	exec("INSERT INTO events (id, tenant_id, user_id, type, created_at, fanned_out) VALUES ($1, $2, 'u', $3, now(), false)", other, tid, identity.EventLoginFailed)

	db, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	due, _, err := db.DueDeliveries(ctx, wid, time.Now(), 10)
	if err != nil || len(due) != 1 || due[0].EventID != pending {
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
	var fanned bool
	if err := db.pool.QueryRow(ctx, "SELECT fanned_out FROM events WHERE id = $1", e.ID).Scan(&fanned); err != nil || !fanned {
		t.Fatalf("a new event is left for the previous version's fan-out: %v, %v", fanned, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		evs, err := db.ReadEvents(ctx, "", wid, w.Cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 1 && evs[0].ID == e.ID {
			break
		}
		if len(evs) > 1 || time.Now().After(deadline) {
			t.Fatalf("a new event after the migration: %+v", evs)
		}
	}
}
