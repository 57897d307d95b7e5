package postgres_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/postgrestest"
	"github.com/latchauth/latch/internal/store/storetest"
)

// Ensure the pgbench script in the repository is the one the store's
// statements make (LATCH_UPDATE_GOLDEN=1 rewrites it), and that it really
// rotates: each transaction advances its client's session by one
// generation and appends one event, as a refresh does.
func TestPgbenchRefreshScript(t *testing.T) {
	url := postgrestest.URL(t)
	db := MustOpen(t, url)
	script := db.PgbenchRefreshScript()
	golden := filepath.Join("pgbench", "refresh.sql")
	if os.Getenv("LATCH_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want, err := os.ReadFile(golden); err != nil || string(want) != script {
		t.Fatalf("%s is not the store's SQL (LATCH_UPDATE_GOLDEN=1 go test -run PgbenchRefreshScript ./internal/store/postgres rewrites it): %v", golden, err)
	}

	pgbench, err := exec.LookPath("pgbench")
	if err != nil {
		t.Skip("pgbench not on PATH")
	}
	ctx := context.Background()
	tenant := storetest.MustCreateTenant(t, db, "pgbench")
	user := storetest.MustCreateUser(t, db, tenant.ID, "pgbench@example.com")
	from := storetest.MustCreateSession(t, db, user, time.Now())
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, postgres.PgbenchSessionsSQL(from.ID, 2)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pgbench, "-n", "-M", "prepared", "-c", "2", "-t", "5", "-f", golden, postgrestest.Libpq(t, url)).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	for _, id := range []string{"pgbench-0", "pgbench-1"} {
		s, _, _, err := db.GetSessionWithOwners(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Generation != 5 {
			t.Errorf("%s: generation %d after 5 transactions, want 5\n%s", id, s.Generation, out)
		}
		var events int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM events WHERE session_id = $1 AND type = 'account.logged-in'", id).Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 5 {
			t.Errorf("%s: %d events after 5 transactions, want 5", id, events)
		}
	}
}
