package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/store/storetest"
)

func MustOpen(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) identity.Store { return MustOpen(t, postgrestest.URL(t)) })
}

// Ensure several instances starting at once on an empty database migrate
// it once (the advisory lock), and that migrating again changes nothing.
func TestConcurrentMigrations(t *testing.T) {
	url := postgrestest.URL(t)
	var wg sync.WaitGroup
	versions := make([]int, 6)
	for i := range versions {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Error(err)
				return
			}
			defer db.Close()
			versions[i], err = db.Migrate(context.Background())
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for _, v := range versions {
		if v != versions[0] || v < 1 {
			t.Fatalf("versions %v", versions)
		}
	}
}

// Ensure a change to an endpoint on one instance (a re-enabled one may
// have work) wakes the dispatcher of another through LISTEN/NOTIFY.
func TestListenWebhooks(t *testing.T) {
	url := postgrestest.URL(t)
	a, b := MustOpen(t, url), MustOpen(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken := make(chan struct{}, 10)
	go b.ListenWebhooks(ctx, func() { woken <- struct{}{} })
	tn := storetest.MustCreateTenant(t, a, "")
	now := time.Now()
	w := &identity.WebhookEndpoint{ID: identity.NewID(), TenantID: tn.ID, URL: "https://hooks.example",
		Events: []string{identity.EventLoggedIn}, Signing: "standard-webhooks", SecretSealed: []byte{1}, Status: "healthy", CreatedAt: now, UpdatedAt: now}
	if err := a.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	// LISTEN takes effect at some point after ListenWebhooks starts: change
	// the endpoint until a change wakes the other instance.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := a.UpdateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
		select {
		case <-woken:
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the other instance was not woken")
		}
	}
}

// Ensure the security migration upgrades a database with data: addresses
// of the last 30 days' sessions become known, and of duplicate live
// re-authentication grants of one device only the newest stays live.
func TestMigrationSecurityUpgrade(t *testing.T) {
	url := postgrestest.URL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL)`)
	for v, name := range []string{"0001_init.sql", "0002_session_kind.sql", "0003_webhooks.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(string(body))
		mustExec(`INSERT INTO schema_migrations VALUES ($1, now())`, v+1)
	}
	now := time.Now().UTC()
	mustExec(`INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t', 'T', now(), now())`)
	mustExec(`INSERT INTO users (id, tenant_id, email, email_key, created_at, updated_at) VALUES ('u', 't', 'a@example.com', 'a@example.com', now(), now())`)
	session := func(id, ip, kind, device string, created time.Duration) {
		at := now.Add(created)
		mustExec(`INSERT INTO sessions (id, tenant_id, user_id, generation, created_at, expires_at, last_seen_at, rotated_at, ip, kind, device_name)
			VALUES ($1, 't', 'u', 0, $2, $3, $2, $2, $4, $5, $6)`, id, at, now.Add(time.Hour), ip, kind, device)
	}
	session("recent", "198.51.100.7", "", "", -24*time.Hour)
	session("old", "198.51.100.8", "", "", -40*24*time.Hour)
	session("v6", "2001:db8::1", "", "", -time.Hour)
	session("grant-old", "", "reauth", "phone", -2*time.Hour)
	session("grant-new", "", "reauth", "phone", -time.Hour)
	conn.Close(ctx)

	db := MustOpen(t, url)
	storetest.WantSecurityUpgrade(t, db, now)
}

// Ensure an event whose transaction began writing first but commits last
// is not skipped by a cursor: while it is open, the events committed
// after it are not read either (they lie above the oldest running
// transaction); once it commits, both are read, it first.
func TestEventLogWaitsForOlderTransactions(t *testing.T) {
	url := postgrestest.URL(t)
	db := MustOpen(t, url)
	ctx := context.Background()
	tn := storetest.MustCreateTenant(t, db, "")
	w := &identity.WebhookEndpoint{ID: identity.NewID(), TenantID: tn.ID, URL: "https://hooks.example", Events: []string{identity.EventLoggedIn},
		Signing: "standard-webhooks", SecretSealed: []byte{1}, Status: "healthy", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if err := db.CreateWebhook(ctx, w); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	slow, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	first := identity.NewID()
	if _, err := slow.Exec(ctx, "INSERT INTO events (id, tenant_id, type, created_at) VALUES ($1, $2, $3, now())", first, tn.ID, identity.EventLoggedIn); err != nil {
		t.Fatal(err)
	}
	second := identity.Event{ID: identity.NewID(), TenantID: tn.ID, Type: identity.EventLoggedIn, CreatedAt: time.Now()}
	if err := db.AppendEvents(ctx, second); err != nil {
		t.Fatal(err)
	}
	if evs, err := db.ReadEvents(ctx, "", w.ID, w.Cursor, 10); err != nil || len(evs) != 0 {
		t.Fatalf("read %d events while an older transaction is open (%v); the cursor could pass it", len(evs), err)
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	// Other tests' transactions on the same server may hold the horizon
	// back a moment.
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs, err := db.ReadEvents(ctx, "", w.ID, w.Cursor, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 2 {
			if evs[0].ID != first || evs[1].ID != second.ID {
				t.Fatalf("read %s, %s; want %s first", evs[0].ID, evs[1].ID, first)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read %d of 2 events after the commit", len(evs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
