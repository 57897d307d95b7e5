package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

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
