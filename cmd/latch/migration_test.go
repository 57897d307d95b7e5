package main_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/upstream/upstreamtest"
)

// Ensure the README's lazy-migration block works as written against the
// built binary and a fake hosted accounts-v3 API: the setting is taken
// (shown without secrets), the first login is checked upstream and
// answered with latch's tokens, the second is not, `latch migration
// status` counts the migrated user, and switching the setting off shows.
func TestREADMELazyMigration(t *testing.T) {
	needTools(t, "bash", "curl", "jq")
	block := readmeBlock(t, "lazy-migration")
	up := upstreamtest.New(t, identity.UpstreamAccountsV3)
	bin, dir := buildLatch(t), t.TempDir()
	// `latch` in the block is the binary under test.
	path := filepath.Join(dir, "bin")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(bin, filepath.Join(path, "latch")); err != nil {
		t.Fatal(err)
	}
	const admin = "migration-admin-token-0123456789"
	db := "sqlite:" + filepath.Join(dir, "moving.db")
	env := []string{"LATCH_SECRET=migration test secret of at least 32 bytes", "LATCH_ADMIN_TOKEN=" + admin, "LATCH_LISTEN=127.0.0.1:0",
		"LATCH_DB=" + db, "LATCH_WEBHOOK_ALLOW_PRIVATE=true"} // the fake upstream listens on loopback
	p := start(t, bin, dir, env, "serve")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", block)
	sh.Dir = dir
	sh.Env = append(os.Environ(), "PATH="+path+":"+os.Getenv("PATH"), "LATCH_URL=http://"+p.addr, "ADMIN_TOKEN="+admin, "LATCH_DB="+db,
		"UPSTREAM_URL="+up.URL, "UPSTREAM_ACCOUNT="+upstreamtest.AccountID)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("block failed: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		`{"dialect":"accounts-v3","base_url":"` + up.URL + `","account_id":"` + upstreamtest.AccountID + `"}`,
		"[\"accessToken\",\"refreshToken\"]\n[\"accessToken\",\"refreshToken\"]\n",
		"lazy migration: on, first logins checked at " + up.URL + " (accounts-v3)",
		"users: 1, migrated by a first login: 1 (100.0%)",
		"to switch it off when done: latch tenant update",
		"lazy migration: off",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the block's output lacks %s:\n%s", want, text)
		}
	}
	t.Logf("the block printed:\n%s", text)
	if i := strings.Index(text, "to switch it off when done"); i < 0 || strings.Contains(text[i:], `"migration"`) {
		t.Errorf("the setting is still shown after switching it off:\n%s", text)
	}
	if up.Hits() != 1 {
		t.Errorf("the upstream was asked %d times, want once", up.Hits())
	}
	if last := up.Last(); last.Path != "/v3/accounts/login" || last.Body["email"] != upstreamtest.Email {
		t.Errorf("the upstream was asked %s %v", last.Path, last.Body)
	}
}
