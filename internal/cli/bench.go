package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/latchauth/latch/internal/bench"
)

// runBench drives load at a running server from this separate process, so
// that the figures include no in-process shortcuts.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("bench", getenv, stderr)
	url := s.add("url", "LATCH_BENCH_URL", "http://127.0.0.1:8080", "the server's base URL")
	account := s.add("account", "LATCH_BENCH_ACCOUNT", "demo", "tenant alias or id")
	email := s.add("email", "LATCH_BENCH_EMAIL", "demo@example.com", "the user to log in as")
	pw := s.add("password", "LATCH_BENCH_PASSWORD", "correct-horse-battery", "the user's password")
	mode := s.add("mode", "LATCH_BENCH_MODE", "refresh", "login (password logins) or refresh (each client chains rotations)")
	clients := s.add("clients", "LATCH_BENCH_CLIENTS", "16", "concurrent clients")
	dur := s.add("duration", "LATCH_BENCH_DURATION", "10s", "how long to run")
	hooks := s.add("webhook-endpoints", "LATCH_BENCH_WEBHOOK_ENDPOINTS", "0",
		"with N > 0: alternate slices without and with N endpoints subscribed to account.logged-in on a receiver this process starts on 127.0.0.1, and print the ratio and the lag (needs --admin-token; the server LATCH_WEBHOOK_ALLOW_PRIVATE=true)")
	adminToken := s.add("admin-token", "LATCH_ADMIN_TOKEN", "", "the server's admin token (registers the webhook endpoints)")
	slices := s.add("slices", "LATCH_BENCH_SLICES", "3", "pairs of slices without and with endpoints, each --duration long")
	if err := s.parse(args); err != nil {
		return err
	}
	n, err := clients.uint(1, 10000)
	if err != nil {
		return err
	}
	d, err := dur.duration(time.Second, time.Hour)
	if err != nil {
		return err
	}
	cfg := bench.Config{URL: *url.val, Account: *account.val, Email: *email.val, Password: *pw.val, Mode: *mode.val, Clients: int(n), Duration: d}
	endpoints, err := hooks.uint(0, 1000)
	if err != nil {
		return err
	}
	if endpoints > 0 {
		k, err := slices.uint(1, 100)
		if err != nil {
			return err
		}
		if *adminToken.val == "" {
			return adminToken.badValue("is needed to register the webhook endpoints")
		}
		fmt.Fprintf(stdout, "latch bench: %s against %s, %d clients, %d × (%s without and %s with %d webhook endpoint(s))\n",
			cfg.Mode, cfg.URL, cfg.Clients, k, cfg.Duration, cfg.Duration, endpoints)
		r, err := bench.RunWebhooks(ctx, cfg, bench.WebhookConfig{Endpoints: int(endpoints), AdminToken: *adminToken.val, Slices: int(k)}, stdout)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, r)
		return nil
	}
	fmt.Fprintf(stdout, "latch bench: %s against %s, %d clients, %s\n", cfg.Mode, cfg.URL, cfg.Clients, cfg.Duration)
	r, err := bench.Run(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r)
	return nil
}
