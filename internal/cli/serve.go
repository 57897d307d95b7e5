package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/console"
	"github.com/latchauth/latch/internal/httpapi"
	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mail"
	"github.com/latchauth/latch/internal/metrics"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/ratelimit/redisrate"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/upstream"
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

var headroomOnce sync.Once

// headroomWhileShedding gives the Go scheduler extra Ps while the hashing
// pool refuses logins, and takes them back once it has refused none for
// half a second; never when the operator set GOMAXPROCS. Under a flood the
// hashing workers hold every P: argon2 runs each segment (~3 ms) on a
// goroutine of its own, which inherits the time slice, so the goroutines
// that answer requests, the refusals above all, waited in the run queue
// until the Go scheduler preempted the chain (every ~10 ms), and a 503
// took up to 190 ms. With a P to spare they run on a thread of their own,
// and the kernel shares the CPUs between them and the hashes at a finer
// grain: every 503 within 100 ms. No more hashes run at once (the pool's
// size bounds them). Not always: with more Ps than CPUs the scheduler's
// idle Ps spin and hand argon2's segments between threads, which cost 20%
// of the password logins a second at 16 clients (BENCHMARKS.md,
// 2026-11-30). Once per process: tests start several servers in one.
func headroomWhileShedding(ctx context.Context, refused func() int64, extra int) {
	headroomOnce.Do(func() {
		if _, set := os.LookupEnv("GOMAXPROCS"); !set {
			go headroom(ctx, refused, extra, 50*time.Millisecond, 10)
		}
	})
}

// headroom raises GOMAXPROCS by extra at the first tick that sees refused
// move, and lowers it back after quietTicks ticks that do not, or when
// ctx ends.
func headroom(ctx context.Context, refused func() int64, extra int, tick time.Duration, quietTicks int) {
	base := runtime.GOMAXPROCS(0)
	t := time.NewTicker(tick)
	defer t.Stop()
	last, raised, quiet := refused(), false, 0
	for {
		select {
		case <-ctx.Done():
			if raised {
				runtime.GOMAXPROCS(base)
			}
			return
		case <-t.C:
		}
		n := refused()
		switch {
		case n != last:
			quiet = 0
			if !raised {
				runtime.GOMAXPROCS(base + extra)
				raised = true
			}
		case raised:
			if quiet++; quiet >= quietTicks {
				runtime.GOMAXPROCS(base)
				raised = false
			}
		}
		last = n
	}
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
	issuer, err := deploymentIssuer(ctx, log, db, cfg.issuer, cfg.listen)
	if err != nil {
		return err
	}
	keys, err := token.NewKeyring(ctx, db, token.KeyringConfig{Secret: cfg.secret, Alg: cfg.alg, Issuer: issuer, AccessTTL: cfg.accessTTL})
	if err != nil {
		return err
	}
	if a := keys.Active(); cfg.algExplicit && a.Alg != cfg.alg {
		log.Warn("LATCH_SIGNING_ALG differs from the active signing key's algorithm; signing with the active key. "+
			"To change algorithms, publish a key first: latch keys rotate --signing-alg "+cfg.alg,
			"LATCH_SIGNING_ALG", cfg.alg, "active_alg", a.Alg, "kid", a.ID)
	}
	if cfg.hashPool.Workers <= 0 {
		cfg.hashPool.Workers = runtime.GOMAXPROCS(0)
	}
	hasher, err := password.NewPool(cfg.argon, cfg.hashPool)
	if err != nil {
		return err
	}
	headroomWhileShedding(ctx, hasher.Refused, cfg.hashPool.Workers)
	mets := metrics.New()
	b := buildInfo()
	mets.BuildInfo(b.version, b.commit, b.goVer)
	hasher.ObserveWait = mets.ObserveHashPool(hasher)
	limiter, closeLimiter, err := openLimiter(ctx, cfg, log, mets)
	if err != nil {
		return err
	}
	defer closeLimiter()
	var requests webhook.Requests
	dispatcher := &webhook.Dispatcher{
		Store: db, Requests: &requests, Client: webhook.Guard{AllowPrivate: cfg.allowPrivate}.Client(webhook.Timeout), RetryBase: cfg.retryBase,
		SuspendAfter: cfg.suspendAfter, InFlight: cfg.inFlight, Retention: cfg.retention, EventRetention: cfg.eventRetention,
		Logger: log, Observe: mets.WebhookDelivery,
	}
	var mailer identity.Mailer
	var sender *mail.Sender
	if cfg.smtp != nil {
		sender = mail.NewSender(cfg.smtp, log, mets.Mail)
		mailer = sender
	}
	up := upstream.New(cfg.allowPrivate, upstream.Timeout)
	up.Observe = mets.UpstreamCall
	svc := identity.New(identity.Deps{
		Store: db, Passwords: hasher, Signer: keys, Codec: token.NewCodec(cfg.secret), Logger: log,
		TOTPSealer: token.NewSealer(cfg.secret, token.LabelTOTP), WebhookSealer: token.NewSealer(cfg.secret, token.LabelWebhook),
		MigrationSealer: token.NewSealer(cfg.secret, token.LabelMigration), Upstream: up,
		Limiter: limiter, Config: identity.Config{IPLimit: cfg.ipLimit, AccountLimit: cfg.accountLimit},
		EventsWritten: dispatcher.Wake, AdminToken: cfg.adminToken, Mailer: mailer, PublicURL: issuer,
	})
	dispatcher.Secret, dispatcher.Render = svc.Webhooks.Secret, httpapi.WebhookPayload(svc.Webhooks)
	mets.ObserveWebhookQueue(db.PendingDeliveries)
	samples := console.NewSampler(mets)
	handler := httpapi.NewServer(httpapi.Deps{
		Service: svc, Store: db, Keys: keys, Metrics: mets, Clients: &wire.ClientResolver{Trusted: cfg.trustedProxies},
		AdminToken: cfg.adminToken, Version: version(), Logger: log, Webhooks: dispatcher, CORSOrigins: cfg.corsOrigins, Hashing: hasher,
		MetricsElsewhere: cfg.metricsListen != "", ConsoleSamples: samples,
	})

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen on %s (LATCH_LISTEN): %w", cfg.listen, err)
	}
	addr := ln.Addr().String()
	var metricsLn net.Listener
	if cfg.metricsListen != "" {
		if metricsLn, err = net.Listen("tcp", cfg.metricsListen); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (LATCH_METRICS_LISTEN): %w", cfg.metricsListen, err)
		}
	}
	if cfg.dev {
		if err := devSetup(ctx, svc.Admin, db.(*sqlite.DB), cfg, addr, stdout); err != nil {
			ln.Close()
			return err
		}
	}
	if cfg.adminToken == "" {
		log.Warn("admin API disabled: LATCH_ADMIN_TOKEN is not set")
	}

	srv := &http.Server{
		Handler: requests.Handler(handler), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Pick up keys rotated by another instance or by `latch keys rotate`.
	reloadCtx, stopReload := context.WithCancel(ctx)
	defer stopReload()
	go samples.Run(reloadCtx)
	go func() {
		t := time.NewTicker(token.ReloadEvery)
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
	mailed := make(chan struct{})
	if sender != nil {
		// Stopped with the dispatcher, after the requests that queue mail.
		go func() { sender.Run(dispatchCtx); close(mailed) }()
	} else {
		close(mailed)
	}
	// On PostgreSQL, endpoints re-enabled or changed through another
	// instance wake this dispatcher too (LISTEN/NOTIFY).
	if l, ok := db.(interface {
		ListenWebhooks(ctx context.Context, wake func())
	}); ok {
		go l.ListenWebhooks(dispatchCtx, dispatcher.Wake)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var metricsSrv *http.Server
	metricsAddr := ""
	if metricsLn != nil {
		metricsAddr = metricsLn.Addr().String()
		metricsSrv = &http.Server{Handler: mets.ListenerHandler(cfg.pprof), ReadHeaderTimeout: 5 * time.Second,
			ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() {
			if err := metricsSrv.Serve(metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	limits := "memory"
	if cfg.redisURL != "" {
		limits = "redis"
	}
	log.Info("latch listening", "addr", addr, "url", "http://"+addr, "metrics_addr", metricsAddr, "pprof", cfg.pprof,
		"db", cfg.dbName, "version", b.version, "commit", b.commit, "issuer", issuer, "alg", keys.Active().Alg,
		"rate_limit_ip", cfg.ipLimit.String(), "rate_limit_account", cfg.accountLimit.String(), "rate_limits", limits,
		"mail", cfg.smtp != nil, "hash_workers", hasher.Workers(), "hash_memory_peak_mib", hasher.Workers()*int(cfg.argon.Memory)/1024)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if metricsSrv != nil {
		defer metricsSrv.Close()
	}
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
	<-mailed
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
	s.about = "Apply the database migrations of this version and print the schema version. Idempotent;\n`latch serve` migrates on start too."
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

// metaStore holds deployment-level values; both stores have one.
type metaStore interface {
	GetMeta(ctx context.Context, key string) (string, error)
	SetMetaIfAbsent(ctx context.Context, key, value string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
}

// deploymentIssuer returns the iss every instance of the deployment signs
// with. LATCH_ISSUER, when set, is used and stored; without it, the stored
// value is used, and the first start of a deployment stores
// http://LISTEN of that instance. So two instances never sign with
// different issuers because they listen on different addresses, and a
// deployment keeps its issuer across restarts on another port.
func deploymentIssuer(ctx context.Context, log *slog.Logger, db any, configured, listen string) (string, error) {
	meta, ok := db.(metaStore)
	if !ok {
		return "", errors.New("the store keeps no deployment settings")
	}
	if configured != "" {
		if stored, err := meta.GetMeta(ctx, "issuer"); err != nil {
			return "", fmt.Errorf("read the stored issuer: %w", err)
		} else if stored != configured {
			if err := meta.SetMeta(ctx, "issuer", configured); err != nil {
				return "", fmt.Errorf("store the issuer: %w", err)
			}
			if stored != "" {
				log.Warn("LATCH_ISSUER changed: access tokens now carry the new iss; verifiers that check iss must accept it",
					"previous", stored, "issuer", configured)
			}
		}
		return configured, nil
	}
	iss, err := meta.SetMetaIfAbsent(ctx, "issuer", "http://"+listen)
	if err != nil {
		return "", fmt.Errorf("store the issuer: %w", err)
	}
	return iss, nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
