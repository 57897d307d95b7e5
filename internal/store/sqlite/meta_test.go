package sqlite_test

import (
	"context"
	"testing"
)

// Ensure SetMeta replaces a value that SetMetaIfAbsent then keeps.
func TestSetMeta(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if err := db.SetMeta(ctx, "k", "one"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "k", "two"); err != nil {
		t.Fatal(err)
	}
	if v, err := db.SetMetaIfAbsent(ctx, "k", "three"); err != nil || v != "two" {
		t.Fatalf("SetMetaIfAbsent = %q, %v", v, err)
	}
	if v, err := db.GetMeta(ctx, "k"); err != nil || v != "two" {
		t.Fatalf("GetMeta = %q, %v", v, err)
	}
}
