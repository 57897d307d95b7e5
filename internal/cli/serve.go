package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/ratelimit/redisrate"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/webhook"
)

func newLogger(level, format string, dev bool, w io.Writer) *slog.Logger {
	var lv slog.Level
	lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "text" || (format == "" && dev) {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServe(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.logLevel, cfg.logFormat, cfg.dev, stderr)

	db, _, err := cfg.store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()

	if cfg.dev {
		if err := devSecrets(ctx, db.(*sqlite.DB), cfg); err != nil {
			return err
		}
	}
	keys, err := token.NewKeyring(ctx, db, token.KeyringConfig{Secret: cfg.secret, Alg: cfg.alg, Issuer: cfg.issuer, AccessTTL: cfg.accessTTL})
	if err != nil {
		return err
	}
	hasher, err := password.NewPool(cfg.argon, cfg.hashPool)
	if err != nil {
		return err
	}
	mets := metrics.New()
	hasher.ObserveWait = mets.ObserveHashPool(hasher)
	limiter, closeLimiter, err := openLimiter(ctx, cfg, log, mets)
	if err != nil {
		return err
	}
	defer closeLimiter()
	svc := (&identity.Service{
		Passwords: hasher, Signer: keys, Codec: token.NewCodec(cfg.secret), Logger: log,
		TOTPSealer: token.NewSealer(cfg.secret, token.LabelTOTP), WebhookSealer: token.NewSealer(cfg.secret, token.LabelWebhook),
		Limiter: limiter, Config: identity.Config{IPLimit: cfg.ipLimit, AccountLimit: cfg.accountLimit},
	}).UseStore(db)
	dispatcher := &webhook.Dispatcher{
		Store: db, Secret: svc.WebhookSecret, Render: httpapi.WebhookPayload(svc),
		Client: webhook.Guard{AllowPrivate: cfg.allowPrivate}.Client(webhook.Timeout), RetryBase: cfg.retryBase,
		Retention: cfg.retention, Logger: log, Observe: mets.WebhookDelivery,
	}
	mets.ObserveWebhookQueue(db.PendingDeliveries)
	svc.EventsWritten = dispatcher.Wake
	handler := httpapi.NewServer(httpapi.Deps{
		Service: svc, Store: db, Keys: keys, Metrics: mets, Clients: &wire.ClientResolver{Trusted: cfg.trustedProxies},
		AdminToken: cfg.adminToken, Version: version(), Logger: log, Webhooks: dispatcher, CORSOrigins: cfg.corsOrigins, Hashing: hasher,
	})

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (LATCH_LISTEN): %w", cfg.listen, err)
	}
	addr := ln.Addr().String()
	if cfg.dev {
		if err := devSetup(ctx, svc, db.(*sqlite.DB), cfg, addr, stdout); err != nil {
			ln.Close()
			return err
		}
	}
	if cfg.adminToken == "" {
		log.Warn("admin API disabled: LATCH_ADMIN_TOKEN is not set")
	}

	srv := &http.Server{
		Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Pick up keys rotated by another instance or by `latch keys rotate`.
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-reloadCtx.Done():
				return
			case <-t.C:
				if err := keys.Reload(reloadCtx); err != nil && reloadCtx.Err() == nil {
					log.Warn("reload signing keys", "err", err)
				}
			}
		}
	}()

	dispatchCtx, stopDispatch := context.WithCancel(context.Background())
	defer stopDispatch()
	dispatched := make(chan struct{})
	go func() { dispatcher.Run(dispatchCtx); close(dispatched) }()
	// On PostgreSQL, other instances' fan-outs and re-enabled endpoints
	// wake this dispatcher too (LISTEN/NOTIFY).
	if l, ok := db.(interface {
		ListenWebhooks(ctx context.Context, wake func())
	}); ok {
		go l.ListenWebhooks(dispatchCtx, dispatcher.Wake)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	limits := "memory"
	if cfg.redisURL != "" {
		limits = "redis"
	}
	log.Info("latch listening", "addr", addr, "url", "http://"+addr, "db", cfg.dbName, "version", version(), "alg", cfg.alg,
		"rate_limit_ip", cfg.ipLimit.String(), "rate_limit_account", cfg.accountLimit.String(), "rate_limits", limits,
		"hash_workers", hasher.Workers(), "hash_memory_peak_mib", hasher.Workers()*int(cfg.argon.Memory)/1024)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// The dispatcher finishes the sends in flight (each at most the webhook
	// timeout) and records them; what is still queued goes out at the next
	// start, from the database.
	stopDispatch()
	<-dispatched
	log.Info("stopped")
	return nil
}

// openLimiter returns the in-memory limiter, or with LATCH_REDIS_URL one
// that shares limits through Redis and answers from memory while Redis
// does not (logged and counted; logins never fail because of it). An
// unreachable Redis at start is logged, not fatal, for the same reason.
func openLimiter(ctx context.Context, cfg *serveConfig, log *slog.Logger, m *metrics.Metrics) (ratelimit.Limiter, func(), error) {
	mem := ratelimit.NewMemory(nil)
	if cfg.redisURL == "" {
		return mem, func() {}, nil
	}
	r, err := redisrate.Open(cfg.redisURL, "latch:rl:")
	if err != nil {
		return nil, nil, fmt.Errorf("invalid LATCH_REDIS_URL (--redis): %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := r.Ping(pctx); err != nil {
		log.Error("Redis does not answer; rate limits are per instance until it does", "addr", r.Addr(), "err", err)
	}
	f := &ratelimit.Fallback{Primary: r, Secondary: mem, Logger: log, OnFallback: m.RateLimitFallback}
	return f, func() { r.Close() }, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("migrate", getenv, stderr)
	store := addStore(s, "sqlite:latch.db")
	if err := s.parse(args); err != nil {
		return err
	}
	db, path, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database %s is at schema version %d\n", path, v)
	return nil
}

func rotateKeys(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("keys rotate", getenv, stderr)
	store := addStore(s, "sqlite:latch.db")
	sec := addSecret(s)
	alg := s.add("signing-alg", "LATCH_SIGNING_ALG", token.AlgEdDSA, "algorithm of the new key")
	ttl := s.add("access-ttl", "LATCH_ACCESS_TTL", "15m", "access token lifetime (how long the old key stays published)")
	in := s.add("activate-in", "LATCH_KEY_ACTIVATE_IN", "6m", "delay before the new key signs; covers JWKS caches (5 min) and instance reloads (30 s)")
	if err := s.parse(args); err != nil {
		return err
	}
	secret, err := sec.value(true)
	if err != nil {
		return err
	}
	accessTTL, err := ttl.duration(time.Minute, 24*time.Hour)
	if err != nil {
		return err
	}
	delay, err := in.duration(0, 24*time.Hour)
	if err != nil {
		return err
	}
	db, _, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	kr, err := token.NewKeyring(ctx, db, token.KeyringConfig{Secret: secret, Alg: *alg.val, AccessTTL: accessTTL})
	if err != nil {
		return err
	}
	k, err := kr.Rotate(ctx, delay)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new %s signing key %s\n  published in /.well-known/jwks.json by every running server within 30 s (they reload keys every 30 s)\n  signs from %s (in %s)\n"+
		"  the previous key stays published until its last token expires (%s after that)\n",
		k.Alg, k.ID, k.ActivateAt.Format(time.RFC3339), delay, accessTTL+time.Minute)
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
