// Package postgrestest gives tests a PostgreSQL schema of their own on the
// server at LATCH_TEST_POSTGRES_URL, so that tests run in parallel and
// repeatedly without seeing each other's rows.
package postgrestest

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// URL creates an empty schema and returns a connection URL whose
// search_path is that schema; the schema is dropped when the test ends.
// Without LATCH_TEST_POSTGRES_URL the test is skipped (CI sets it).
func URL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("LATCH_TEST_POSTGRES_URL")
	if base == "" {
		tb.Skip("LATCH_TEST_POSTGRES_URL not set (.ci/run sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to LATCH_TEST_POSTGRES_URL: %v", err)
	}
	defer conn.Close(ctx)
	schema := "latch_test_" + strings.ToLower(rand.Text()[:16])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Libpq turns a URL from URL into one that libpq's tools (psql, pgbench)
// take: libpq knows no search_path parameter, so the schema becomes a
// server option.
func Libpq(tb testing.TB, pgxURL string) string {
	tb.Helper()
	u, err := url.Parse(pgxURL)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	if sp := q.Get("search_path"); sp != "" {
		q.Del("search_path")
		q.Set("options", "-csearch_path="+sp)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
