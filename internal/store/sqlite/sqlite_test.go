package sqlite_test

import (
	"context"
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
