package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
)

// Ensure the meta table keeps the first value written, even when several
// instances write at once, and SetMeta replaces it.
func TestMeta(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, postgrestest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.GetMeta(ctx, "issuer"); err != nil || v != "" {
		t.Fatalf("GetMeta of an unset key = %q, %v", v, err)
	}
	got := make([]string, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			v, err := db.SetMetaIfAbsent(ctx, "issuer", string(rune('a'+i)))
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	for _, v := range got {
		if v != got[0] {
			t.Fatalf("concurrent SetMetaIfAbsent answered %q", got)
		}
	}
	if err := db.SetMeta(ctx, "issuer", "https://auth.example.com"); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.SetMetaIfAbsent(ctx, "issuer", "x"); v != "https://auth.example.com" {
		t.Fatalf("after SetMeta: %q", v)
	}
}
