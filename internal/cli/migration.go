package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/identity"
)

// migrationStatus prints how far a tenant's lazy migration has come,
// straight from the database (like `latch keys rotate`): counting needs no
// running server, and works while the servers are being upgraded.
func migrationStatus(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("migration status", getenv, stderr)
	s.usage = "latch migration status --tenant ID|ALIAS [flags]"
	s.about = "Print a tenant's lazy migration from a hosted API: the upstream it checks first logins with, how\n" +
		"many users the tenant has and how many first logins created. Reads the database (LATCH_DB)."
	store := addStore(s, "sqlite:latch.db")
	tenant := s.add("tenant", "LATCH_TENANT", "", "the tenant, by id or alias")
	asJSON := s.fs.Bool("json", false, "print JSON instead of text")
	if err := s.parse(args); err != nil {
		return err
	}
	if *tenant.val == "" {
		return usagef("--tenant is required (usage: %s)", s.usage)
	}
	db, _, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	id := *tenant.val
	if _, perr := uuid.Parse(id); perr != nil {
		t, err := db.GetTenantByAlias(ctx, strings.ToLower(strings.TrimSpace(id)))
		if err != nil {
			return fmt.Errorf("tenant %s: %w", id, err)
		}
		id = t.ID
	}
	st, err := (&identity.Admin{Tenants: db, Users: db}).MigrationStatus(ctx, id)
	if err != nil {
		return fmt.Errorf("tenant %s: %w", *tenant.val, err)
	}
	m := st.Tenant.Settings.Migration
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"tenant_id": st.Tenant.ID, "migration": m, "users": st.Users, "migrated": st.Migrated})
	}
	fmt.Fprintf(stdout, "tenant %s (%s)\n", st.Tenant.Name, st.Tenant.ID)
	if m == nil {
		fmt.Fprintf(stdout, "  lazy migration: off\n")
	} else {
		fmt.Fprintf(stdout, "  lazy migration: on, first logins checked at %s (%s)\n", m.BaseURL, m.Dialect)
	}
	pct := 0.0
	if st.Users > 0 {
		pct = 100 * float64(st.Migrated) / float64(st.Users)
	}
	fmt.Fprintf(stdout, "  users: %d, migrated by a first login: %d (%.1f%%)\n", st.Users, st.Migrated, pct)
	if m != nil {
		// Settings are replaced as a whole: the command keeps every other one.
		rest := st.Tenant.Settings
		rest.Migration = nil
		b, _ := json.Marshal(rest)
		fmt.Fprintf(stdout, "  to switch it off when done: latch tenant update %s --settings '%s'\n", st.Tenant.ID, b)
	}
	return nil
}
