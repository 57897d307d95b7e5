package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/cli"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// importHash is an argon2id hash as an export carries it: an import
// checks its form and cost, it computes nothing.
const importHash = "$argon2id$v=19$m=19456,t=2,p=1$pxkS8eb9wSHQtyKODk+I7A$dnQ9PI15tPjernaZ486v7/b2ivmdhaTKuTVpI8v25aA"

// writeImportFile writes n users with password_hash, as an export would.
func writeImportFile(tb testing.TB, n int) string {
	tb.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"email":"user%07d@example.com","password_hash":"%s","first_name":"User","last_name":"%d","roles":["user"],"tags":["imported"]}`+"\n",
			i, importHash, i)
	}
	file := filepath.Join(tb.TempDir(), "users.ndjson")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		tb.Fatal(err)
	}
	return file
}

// benchImport runs `latch user import` of n users with password_hash
// into a fresh tenant of db once per iteration and reports users/s (the
// target is 20,000).
func benchImport(b *testing.B, db func() string, n int) {
	file := writeImportFile(b, n)
	var total, cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		url := db()
		alias := "bench" + identity.NewID()[30:]
		createTenant(b, url, alias)
		b.StartTimer()
		start, cpu0 := time.Now(), processCPU()
		var out, errb bytes.Buffer
		err := cli.Run(context.Background(), []string{"latch", "user", "import", "--tenant", alias, file}, envOf(map[string]string{"LATCH_DB": url}), &out, &errb)
		total, cpu = total+time.Since(start), cpu+processCPU()-cpu0
		if err != nil || !strings.HasPrefix(out.String(), fmt.Sprintf("imported %d,", n)) {
			b.Fatalf("import: %v\n%s%s", err, out.String(), errb.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "users/s")
	// On a shared machine the wall-clock rate moves with the load; the
	// users per CPU-second this process spent (not the database server's)
	// do not.
	b.ReportMetric(float64(n*b.N)/cpu.Seconds(), "users/cpu-s")
}

// processCPU is the CPU time this process has used (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// createTenant makes a tenant straight in the store at url.
func createTenant(tb testing.TB, url, alias string) {
	tb.Helper()
	ctx := context.Background()
	var s identity.Store
	var err error
	if p, ok := strings.CutPrefix(url, "sqlite:"); ok {
		s, err = sqlite.Open(ctx, p)
	} else {
		s, err = postgres.Open(ctx, url)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	if err := s.CreateTenant(ctx, &identity.Tenant{ID: identity.NewID(), Name: alias, Alias: alias, CreatedAt: now, UpdatedAt: now}); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkImportSQLite imports 100,000 users into a fresh SQLite file.
func BenchmarkImportSQLite(b *testing.B) {
	benchImport(b, func() string { return "sqlite:" + filepath.Join(b.TempDir(), "import.db") }, 100_000)
}

// BenchmarkImportPostgres imports 100,000 users into a fresh schema.
func BenchmarkImportPostgres(b *testing.B) {
	benchImport(b, func() string { return postgrestest.URL(b) }, 100_000)
}
