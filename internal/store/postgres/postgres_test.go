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

// Ensure a fan-out on one instance wakes the dispatcher of another through
// LISTEN/NOTIFY.
func TestListenWebhooks(t *testing.T) {
	url := postgrestest.URL(t)
	a, b := MustOpen(t, url), MustOpen(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken := make(chan struct{}, 10)
	go b.ListenWebhooks(ctx, func() { woken <- struct{}{} })
	time.Sleep(200 * time.Millisecond) // let LISTEN take effect
	tn := storetest.MustCreateTenant(t, a, "")
	now := time.Now()
	if err := a.CreateWebhook(ctx, &identity.WebhookEndpoint{ID: identity.NewID(), TenantID: tn.ID, URL: "https://hooks.example",
		Events: []string{identity.EventLoggedIn}, Signing: "standard-webhooks", SecretSealed: []byte{1}, Status: "healthy", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := a.AppendEvents(ctx, identity.Event{ID: identity.NewID(), TenantID: tn.ID, Type: identity.EventLoggedIn, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if n, err := a.FanOutEvents(ctx, now, 10); err != nil || n != 1 {
		t.Fatalf("FanOutEvents = %d, %v", n, err)
	}
	select {
	case <-woken:
	case <-time.After(5 * time.Second):
		t.Fatal("the other instance was not woken")
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
	for addr, want := range map[string]bool{"198.51.100.7": true, "198.51.100.8": false, "2001:db8::1": false} {
		if known, err := db.KnownAddress(ctx, "u", addr, now.Add(-identity.KnownAddressLifetime)); err != nil || known != want {
			t.Errorf("known %s = %v, %v; want %v", addr, known, err, want)
		}
	}
	for id, revoked := range map[string]bool{"grant-old": true, "grant-new": false} {
		if s, err := db.GetSession(ctx, id); err != nil || s.Revoked() != revoked {
			t.Errorf("%s revoked = %v, %v; want %v", id, s.Revoked(), err, revoked)
		}
	}
}
