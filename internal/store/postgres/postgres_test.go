package postgres_test

import (
	"context"
	"sync"
	"testing"

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
