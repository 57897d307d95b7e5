package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/store/storetest"
)

func MustOpen(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "latch.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) identity.Store { return MustOpen(t) })
}

// Ensure migrations are idempotent: reopening applies nothing twice.
func TestMigrateIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	first := 0
	for range 3 {
		db, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.Migrate(context.Background())
		if first == 0 {
			first = v
		}
		if err != nil || v < 2 || v != first {
			t.Fatalf("Migrate = %d, %v (first open: %d)", v, err, first)
		}
		db.Close()
	}
}

// Ensure the meta table keeps the first value written.
func TestMetaIfAbsent(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if v, err := db.SetMetaIfAbsent(ctx, "k", "first"); err != nil || v != "first" {
		t.Fatal(v, err)
	}
	if v, _ := db.SetMetaIfAbsent(ctx, "k", "second"); v != "first" {
		t.Fatalf("got %q", v)
	}
	if v, _ := db.GetMeta(ctx, "missing"); v != "" {
		t.Fatalf("got %q", v)
	}
}

// Ensure Close may be called twice and a rotation after Close fails
// cleanly instead of hanging.
func TestCloseTwice(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db.Close()
	if err := db.AdvanceSession(context.Background(), "x", 0, time.Now(), nil); err == nil {
		t.Fatal("rotation after Close succeeded")
	}
}

// Ensure the security migration upgrades a database with data: addresses
// of the last 30 days' sessions become known, and of duplicate live
// re-authentication grants of one device (the old two-step write could
// leave them) only the newest stays live.
func TestMigrationSecurityUpgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
	for v, name := range []string{"0001_init.sql", "0002_totp.sql", "0003_session_kind.sql", "0004_webhooks.sql"} {
		body, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		mustExec(string(body))
		mustExec(`INSERT INTO schema_migrations VALUES (?, 0)`, v+1)
	}
	now := time.Now()
	us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
	mustExec(`INSERT INTO tenants (id, name, created_at, updated_at) VALUES ('t', 'T', 0, 0)`)
	mustExec(`INSERT INTO users (id, tenant_id, email, email_key, created_at, updated_at) VALUES ('u', 't', 'a@example.com', 'a@example.com', 0, 0)`)
	session := func(id, ip, kind, device string, created time.Duration) {
		mustExec(`INSERT INTO sessions (id, tenant_id, user_id, generation, created_at, expires_at, last_seen_at, rotated_at, ip, kind, device_name)
			VALUES (?, 't', 'u', 0, ?, ?, ?, ?, ?, ?, ?)`, id, us(created), us(time.Hour), us(created), us(created), ip, kind, device)
	}
	session("recent", "198.51.100.7", "", "", -24*time.Hour)
	session("old", "198.51.100.8", "", "", -40*24*time.Hour)
	session("v6", "2001:db8::1", "", "", -time.Hour)
	session("grant-old", "", "reauth", "phone", -2*time.Hour)
	session("grant-new", "", "reauth", "phone", -time.Hour)
	raw.Close()

	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.WantSecurityUpgrade(t, db, now)
}
