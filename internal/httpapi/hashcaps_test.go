package httpapi_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/httpapi/httpapitest"
)

// Ensure the admin API refuses imported hashes over the cost caps with a
// 400 that names password_hash and the limit (the three the security
// review reproduced were accepted before).
func TestImportHashOverCostCap(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	base := "/admin/v1/tenants/" + env.MustTenant(t, "caps") + "/users"
	for hash, limit := range map[string]string{
		"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW":                                        "bcrypt cost 31 is above the limit of 14",
		"$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk": "argon2 memory (m, KiB) 4194304 is above the limit of 262144",
		"$scrypt$ln=20,r=32,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk":                      "scrypt memory N·r·128 (bytes) 4294967296 is above the limit of 134217728",
	} {
		m := wantProblem(t, env.Admin(t, "POST", base, map[string]any{"email": "big@example.com", "password_hash": hash}), http.StatusBadRequest, "password_hash")
		if !strings.Contains(fmt.Sprint(m), limit) {
			t.Errorf("%s: problem does not say %q: %v", hash, limit, m)
		}
	}
	env.MustUser(t, env.MustTenant(t, "caps2"), map[string]any{"email": "ok@example.com", "password_hash": "$2a$14$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"})
}

// Ensure a stored hash over a cap (written before the caps, or straight
// into the database) fails closed at login: a 401 like a wrong password,
// an error in the log, and no computation of the hash — before, bcrypt at
// cost 31 held a hashing worker for days.
func TestLoginWithStoredHashOverCostCap(t *testing.T) {
	env := httpapitest.New(t, httpapitest.CheapArgon)
	var logs httpapitest.Buffer
	env.Service.Auth.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	tid := env.MustTenant(t, "legacy")
	env.MustUser(t, tid, map[string]any{"email": "old@example.com", "password": "correct horse battery"})
	ctx := context.Background()
	u, err := env.Store.GetUserByEmail(ctx, tid, "old@example.com")
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = "$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"
	if err := env.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		r := env.Do(t, "POST", "/v3/accounts/login", map[string]any{"accountAlias": "legacy", "email": "old@example.com", "password": "correct horse battery"})
		done <- r.Status
	}()
	select {
	case st := <-done:
		if st != http.StatusUnauthorized {
			t.Fatalf("login status %d, want 401", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("login still running after 30 s: the over-cap hash is being computed")
	}
	if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "bcrypt cost 31 is above the limit of 14") {
		t.Fatalf("no error logged naming the cap:\n%s", l)
	}
}
