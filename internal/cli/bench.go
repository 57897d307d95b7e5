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
	users := s.add("users", "LATCH_BENCH_USERS", "0", "with N > 0: log in as N users, --email being a pattern with one %d (user%07d@example.com) filled at random below N")
	pw := s.add("password", "LATCH_BENCH_PASSWORD", "correct-horse-battery", "the user's password")
	mode := s.add("mode", "LATCH_BENCH_MODE", "refresh", "login (password logins) or refresh (each client chains rotations)")
	clients := s.add("clients", "LATCH_BENCH_CLIENTS", "16", "concurrent clients")
	dur := s.add("duration", "LATCH_BENCH_DURATION", "10s", "how long to run (with --no-backoff or --webhook-endpoints: each slice)")
	noBackoff := s.addBool("no-backoff", "LATCH_BENCH_NO_BACKOFF", "false", "overload scenario: password logins from --clients clients that resend at once on 503/429, "+
		"in slices alternating with --baseline-clients clients; prints the goodput ratio, 503 latencies and the server's peak RSS")
	baseline := s.add("baseline-clients", "LATCH_BENCH_BASELINE_CLIENTS", "16", "with --no-backoff: clients of the baseline slices")
	slices := s.add("slices", "LATCH_BENCH_SLICES", "3", "with --no-backoff or --webhook-endpoints: pairs of slices")
	pid := s.add("server-pid", "LATCH_BENCH_SERVER_PID", "0", "with --no-backoff: the server's pid, to read its peak RSS from /proc (default: sample /metrics)")
	hooks := s.add("webhook-endpoints", "LATCH_BENCH_WEBHOOK_ENDPOINTS", "0",
		"with N > 0: alternate slices without and with N endpoints subscribed to account.logged-in on a receiver this process starts on 127.0.0.1, and print the ratio and the lag (needs --admin-token; the server LATCH_WEBHOOK_ALLOW_PRIVATE=true)")
	adminToken := s.add("admin-token", "LATCH_ADMIN_TOKEN", "", "with --webhook-endpoints: the server's admin token (registers the endpoints)")
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
	u, err := users.uint(0, 1<<31)
	if err != nil {
		return err
	}
	cfg := bench.Config{URL: *url.val, Account: *account.val, Email: *email.val, Password: *pw.val, Mode: *mode.val, Clients: int(n), Duration: d, Users: int(u)}
	if noBackoff.on() {
		return runOverload(ctx, cfg, baseline, slices, pid, stdout)
	}
	endpoints, err := hooks.uint(0, 1000)
	if err != nil {
		return err
	}
	if endpoints > 0 {
		return runWebhookBench(ctx, cfg, int(endpoints), adminToken, slices, stdout)
	}
	fmt.Fprintf(stdout, "latch bench: %s against %s, %d clients, %s\n", cfg.Mode, cfg.URL, cfg.Clients, cfg.Duration)
	r, err := bench.Run(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r)
	return nil
}

// runOverload is `latch bench --no-backoff`: the overload scenario.
func runOverload(ctx context.Context, cfg bench.Config, baseline, slices, pid *setting, stdout io.Writer) error {
	b, err := baseline.uint(1, 10000)
	if err != nil {
		return err
	}
	k, err := slices.uint(1, 100)
	if err != nil {
		return err
	}
	p, err := pid.uint(0, 1<<31)
	if err != nil {
		return err
	}
	cfg.Mode = "login"
	oc := bench.OverloadConfig{Config: cfg, Baseline: int(b), Slices: int(k), ServerPID: int(p)}
	fmt.Fprintf(stdout, "latch bench: overload against %s: password logins, %d clients without backoff against %d, %d pairs of %s slices\n",
		cfg.URL, cfg.Clients, oc.Baseline, oc.Slices, cfg.Duration)
	r, err := bench.RunOverload(ctx, oc, stdout)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, r)
	return nil
}

// runWebhookBench is `latch bench --webhook-endpoints N`.
func runWebhookBench(ctx context.Context, cfg bench.Config, endpoints int, adminToken, slices *setting, stdout io.Writer) error {
	k, err := slices.uint(1, 100)
	if err != nil {
		return err
	}
	if *adminToken.val == "" {
		return adminToken.badValue("is needed to register the webhook endpoints")
	}
	fmt.Fprintf(stdout, "latch bench: %s against %s, %d clients, %d × (%s without and %s with %d webhook endpoint(s))\n",
		cfg.Mode, cfg.URL, cfg.Clients, k, cfg.Duration, cfg.Duration, endpoints)
	r, err := bench.RunWebhooks(ctx, cfg, bench.WebhookConfig{Endpoints: endpoints, AdminToken: *adminToken.val, Slices: int(k)}, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, r)
	return nil
}
