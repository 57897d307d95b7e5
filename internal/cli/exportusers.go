package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/latchauth/latch/internal/identity"
)

// exportUsers writes a tenant's users as `latch user import` reads them.
func exportUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("user export", getenv, stderr)
	s.usage = "latch user export --tenant ID|ALIAS [flags] > users.ndjson"
	s.about = `Write a tenant's users to stdout, one JSON object per line (NDJSON), straight from the database
(LATCH_DB; servers may be running): the admin API's user fields with each password hash, id and
creation time, as latch user import reads them. The hashes are secrets: keep the file as you keep the database.`
	store := addStore(s, "sqlite:latch.db")
	tenant := s.add("tenant", "LATCH_TENANT", "", "the tenant, by id or alias")
	if _, err := s.parseArgs(args, 0, 0); err != nil {
		return err
	}
	if *tenant.val == "" {
		return usagef("--tenant (or LATCH_TENANT) is required: the tenant's id or alias")
	}
	db, _, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	t, err := findTenant(ctx, db, *tenant.val)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	n := 0
	for p := (identity.Page{Limit: 500}); ; {
		users, next, err := db.ListUsers(ctx, t.ID, identity.UserFilter{}, p)
		if err != nil {
			return err
		}
		for _, u := range users {
			if err := enc.Encode(identity.ExportRecord(u)); err != nil {
				return err
			}
		}
		n += len(users)
		if next == "" {
			break
		}
		p.Cursor = next
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "exported %d users of tenant %s\n", n, t.ID)
	return nil
}
