package main_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/bench"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// envInt reads a benchmark's size from the environment.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkMillionUsersSQLite: see millionUsers.
func BenchmarkMillionUsersSQLite(b *testing.B) {
	millionUsers(b, "sqlite:"+filepath.Join(b.TempDir(), "million.db"))
}

// BenchmarkMillionUsersPostgres: see millionUsers.
func BenchmarkMillionUsersPostgres(b *testing.B) {
	millionUsers(b, postgrestest.URL(b))
}

// millionUsers imports LATCH_BENCH_USERS (1,000,000) users into one
// tenant of a server's database with `latch user import` while the
// server runs, and 1,000 into another; then, in one run, measures
// password logins and refreshes at 16 clients against each tenant in
// alternating slices (LATCH_BENCH_ROUNDS pairs of LATCH_BENCH_SECONDS
// each), spread over each tenant's users at random, and reports the
// ratios of the big tenant's p50 and p99 to the small one's (target
// ≤ 1.1). Last it times the console's user search by email prefix in the
// big tenant (target p99 < 50 ms).
func millionUsers(b *testing.B, db string) {
	if b.N > 1 {
		b.Skip("one run is the measurement: use -benchtime 1x")
	}
	n, rounds := envInt("LATCH_BENCH_USERS", 1_000_000), envInt("LATCH_BENCH_ROUNDS", 2)
	slice := time.Duration(envInt("LATCH_BENCH_SECONDS", 10)) * time.Second
	bin := buildLatch(b)
	const admin = "million-admin-token-0123456789"
	// No rate limits, and no 503 for a hashing queue that a shared
	// machine slows: every login is measured, none shed.
	env := []string{"LATCH_DB=" + db, "LATCH_SECRET=the million users benchmark's secret",
		"LATCH_ADMIN_TOKEN=" + admin, "LATCH_RATE_LIMIT_IP=off", "LATCH_RATE_LIMIT_ACCOUNT=off", "LATCH_HASH_WAIT=1m"}
	p := start(b, bin, b.TempDir(), append(env, "LATCH_LISTEN=127.0.0.1:0"), "serve")
	base := "http://" + p.addr
	for _, alias := range []string{"small", "big"} {
		if st, _ := call(b, "POST", base+"/admin/v1/tenants", map[string]any{"name": alias, "alias": alias}, "Authorization", "Bearer "+admin); st != http.StatusCreated {
			b.Fatalf("create tenant %s: %d", alias, st)
		}
	}
	const pw = "million users bench"
	h, err := password.New(password.DefaultParams)
	if err != nil {
		b.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), pw)
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range []struct {
		alias string
		n     int
	}{{"small", 1000}, {"big", n}} {
		file := filepath.Join(b.TempDir(), t.alias+".ndjson")
		f, err := os.Create(file)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for i := range t.n {
			fmt.Fprintf(w, `{"email":"user%07d@example.com","password_hash":"%s","first_name":"User","last_name":"%d","roles":["user"]}`+"\n", i, hash, i)
		}
		w.Flush()
		f.Close()
		load, _ := os.ReadFile("/proc/loadavg")
		startImport := time.Now()
		out, errOut, code := latchCmd(b, bin, env, "", "user", "import", "--tenant", t.alias, "--progress-every", "30s", file)
		took := time.Since(startImport)
		if code != 0 {
			b.Fatalf("import %s: exit %d\n%s%s", t.alias, code, out, errOut)
		}
		b.Logf("import of %d users into %s: %s (%.0f users/s); load average before: %s", t.n, t.alias, strings.TrimSpace(out),
			float64(t.n)/took.Seconds(), strings.TrimSpace(string(load)))
		if t.alias == "big" {
			b.ReportMetric(float64(t.n)/took.Seconds(), "import-users/s")
		}
	}

	type sums struct{ p50, p99 []time.Duration }
	res := map[string]*sums{}
	for r := range rounds {
		for _, mode := range []string{"login", "refresh"} {
			for _, t := range []struct {
				alias string
				n     int
			}{{"small", 1000}, {"big", n}} {
				out, err := bench.Run(context.Background(), bench.Config{URL: base, Account: t.alias, Email: "user%07d@example.com", Users: t.n,
					Password: pw, Mode: mode, Clients: 16, Duration: slice}, nil)
				if err != nil || out.Statuses[http.StatusOK] != out.Requests {
					b.Fatalf("%s %s: %v %v", mode, t.alias, err, out)
				}
				b.Logf("round %d, %s, %s (%d users): %s", r+1, mode, t.alias, t.n, out)
				k := mode + "/" + t.alias
				if res[k] == nil {
					res[k] = &sums{}
				}
				res[k].p50, res[k].p99 = append(res[k].p50, out.P50), append(res[k].p99, out.P99)
			}
		}
	}
	median := func(d []time.Duration) float64 {
		d = slices.Sorted(slices.Values(d))
		return float64(d[len(d)/2])
	}
	for _, mode := range []string{"login", "refresh"} {
		big, small := res[mode+"/big"], res[mode+"/small"]
		r50, r99 := median(big.p50)/median(small.p50), median(big.p99)/median(small.p99)
		b.Logf("%s at %d users / at 1,000 users: p50 ratio %.2f, p99 ratio %.2f (target ≤ 1.1)", mode, n, r50, r99)
		b.ReportMetric(r50, mode+"-p50-ratio")
		b.ReportMetric(r99, mode+"-p99-ratio")
	}

	// The console's search: the first page of users whose email starts
	// with a prefix, as the console asks the store for it.
	ctx := context.Background()
	var s identity.Store
	if path, ok := strings.CutPrefix(db, "sqlite:"); ok {
		s, err = sqlite.Open(ctx, path)
	} else {
		s, err = postgres.Open(ctx, db)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	big, err := s.GetTenantByAlias(ctx, "big")
	if err != nil {
		b.Fatal(err)
	}
	for _, digits := range []int{6, 4} { // prefixes matching about 10 and about 1,000 users of a million
		var lat []time.Duration
		for range 200 {
			prefix := fmt.Sprintf("user%0*d", digits, rand.IntN(max(1, n/pow10(7-digits))))
			t0 := time.Now()
			if _, _, err := s.ListUsers(ctx, big.ID, identity.UserFilter{EmailPrefix: prefix}, identity.Page{Limit: 50}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		p99 := lat[len(lat)*99/100]
		b.Logf("email prefix search, %d-digit prefixes: p50 %s, p99 %s (target p99 < 50 ms)", digits, lat[len(lat)/2], p99)
		b.ReportMetric(float64(p99.Microseconds())/1000, fmt.Sprintf("search-%dd-p99-ms", digits))
	}
}

func pow10(k int) int {
	n := 1
	for range k {
		n *= 10
	}
	return n
}
