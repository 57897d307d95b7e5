package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/webhook"
)

// testWebhook sends a signed ping to one endpoint, straight from the
// database (no running server needed), and prints the answer.
func testWebhook(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("webhook test", getenv, stderr)
	s.usage = "latch webhook test --tenant ID --webhook ID [flags]"
	s.about = "Send a signed ping to one webhook endpoint, straight from the database (no running server needed),\nand print the answer. Exit 1 when the endpoint did not answer 2xx."
	store := addStore(s, "sqlite:latch.db")
	sec := addSecret(s)
	tenant := s.fs.String("tenant", "", "the endpoint's tenant id")
	id := s.fs.String("webhook", "", "the endpoint's id")
	private := s.addBool("webhook-allow-private", "LATCH_WEBHOOK_ALLOW_PRIVATE", "false", "allow loopback, private and link-local targets")
	if err := s.parse(args); err != nil {
		return err
	}
	if *tenant == "" || *id == "" {
		return usagef("--tenant and --webhook are required (usage: %s)", s.usage)
	}
	secret, err := sec.value(true)
	if err != nil {
		return err
	}
	db, _, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	w, err := db.GetWebhook(ctx, *tenant, *id)
	if err != nil {
		return fmt.Errorf("webhook %s of tenant %s: %w", *id, *tenant, err)
	}
	wh := &identity.Webhooks{Sealer: token.NewSealer(secret, token.LabelWebhook)}
	d := &webhook.Dispatcher{Secret: wh.Secret, Client: webhook.Guard{AllowPrivate: private.on()}.Client(webhook.Timeout)}
	a := d.Ping(ctx, w)
	fmt.Fprintf(stdout, "POST %s (%s signing)\n", w.URL, w.Signing)
	if a.Error != "" && a.StatusCode == 0 {
		fmt.Fprintf(stdout, "  failed after %s: %s\n", a.Duration.Round(time.Millisecond), a.Error)
		return fmt.Errorf("the endpoint did not answer")
	}
	fmt.Fprintf(stdout, "  %d in %s\n", a.StatusCode, a.Duration.Round(time.Millisecond))
	if a.Response != "" {
		fmt.Fprintf(stdout, "  answer: %s\n", a.Response)
	}
	if a.Error != "" {
		return fmt.Errorf("the endpoint answered %d: a delivery would be retried", a.StatusCode)
	}
	return nil
}
