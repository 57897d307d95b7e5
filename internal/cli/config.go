package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mail"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// storeConfig is the database setting shared by every command.
type storeConfig struct {
	db *setting
}

func addStore(s *settings, def string) storeConfig {
	return storeConfig{db: s.add("db", "LATCH_DB", def, "database: sqlite:PATH or postgres://…")}
}

// Store is what the commands need of a database: every store interface
// and migrations.
type Store interface {
	identity.Store
	Migrate(ctx context.Context) (int, error)
}

// check validates LATCH_DB and returns it for logs (a password in a
// PostgreSQL URL is masked).
func (c storeConfig) check() (string, error) {
	v := *c.db.val
	switch {
	case strings.HasPrefix(v, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(v, "sqlite:"), "//")
		if p == "" {
			return "", c.db.badValue("sqlite: needs a file path, like sqlite:latch.db")
		}
		return p, nil
	case strings.HasPrefix(v, "postgres://"), strings.HasPrefix(v, "postgresql://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			return "", usagef("invalid LATCH_DB (--db): not a PostgreSQL URL like postgres://user:password@host:5432/latch")
		}
		return u.Redacted(), nil
	}
	return "", c.db.badValue("must start with sqlite: or postgres://")
}

// postgres reports whether the store is PostgreSQL.
func (c storeConfig) postgres() bool { return !strings.HasPrefix(*c.db.val, "sqlite:") }

// open opens (and migrates) the configured store; it returns the store and
// how to name it in messages.
func (c storeConfig) open(ctx context.Context) (Store, string, error) {
	name, err := c.check()
	if err != nil {
		return nil, "", err
	}
	if c.postgres() {
		db, err := postgres.Open(ctx, *c.db.val)
		if err != nil {
			return nil, "", fmt.Errorf("open database %s: %w", name, err)
		}
		return db, name, nil
	}
	db, err := sqlite.Open(ctx, name)
	if err != nil {
		return nil, "", fmt.Errorf("open database %s: %w", name, err)
	}
	return db, name, nil
}

// argonConfig is the deployment's argon2id cost: what serve hashes
// passwords with, and so an import too.
type argonConfig struct{ mem, time, threads *setting }

func addArgon(s *settings) argonConfig {
	return argonConfig{
		mem:     s.add("argon2-memory", "LATCH_ARGON2_MEMORY", strconv.Itoa(int(password.DefaultParams.Memory)), "argon2id memory in KiB"),
		time:    s.add("argon2-time", "LATCH_ARGON2_TIME", strconv.Itoa(int(password.DefaultParams.Time)), "argon2id passes"),
		threads: s.add("argon2-threads", "LATCH_ARGON2_THREADS", strconv.Itoa(int(password.DefaultParams.Threads)), "argon2id lanes"),
	}
}

func (c argonConfig) params() (password.Params, error) {
	m, err := c.mem.uint(64, password.MaxArgon2Memory)
	if err != nil {
		return password.Params{}, err
	}
	t, err := c.time.uint(1, password.MaxArgon2Time)
	if err != nil {
		return password.Params{}, err
	}
	p, err := c.threads.uint(1, password.MaxArgon2Threads)
	if err != nil {
		return password.Params{}, err
	}
	pp := password.Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: 16, KeyLen: 32}
	if err := pp.Validate(); err != nil {
		return password.Params{}, c.mem.badValue("%v", err)
	}
	return pp, nil
}

type secretConfig struct{ secret *setting }

func addSecret(s *settings) secretConfig {
	return secretConfig{secret: s.add("secret", "LATCH_SECRET", "", "deployment secret (32+ bytes): encrypts signing keys, keys opaque tokens")}
}

func (c secretConfig) value(required bool) ([]byte, error) {
	v := *c.secret.val
	switch {
	case v == "" && required:
		return nil, usagef("LATCH_SECRET (--secret) is required: 32 or more random bytes, for example from `openssl rand -base64 48`")
	case v != "" && len(v) < 32:
		return nil, usagef("invalid LATCH_SECRET (--secret): must be at least 32 bytes, got %d", len(v))
	}
	return []byte(v), nil
}

// serveConfig is every setting of `latch serve`, parsed.
type serveConfig struct {
	dev            bool
	store          storeConfig
	dbName         string // for logs
	listen         string
	adminToken     string
	secret         []byte
	issuer         string // LATCH_ISSUER; "" for the deployment's stored issuer (see deploymentIssuer)
	accessTTL      time.Duration
	alg            string
	algExplicit    bool // LATCH_SIGNING_ALG was set, not defaulted
	metricsListen  string
	pprof          bool
	argon          password.Params
	trustedProxies []netip.Prefix
	logLevel       string
	logFormat      string
	ipLimit        ratelimit.Limit
	accountLimit   ratelimit.Limit
	redisURL       string
	hashPool       password.Pool
	allowPrivate   bool
	retryBase      time.Duration
	retention      time.Duration
	suspendAfter   time.Duration
	inFlight       int
	eventRetention time.Duration
	corsOrigins    []string
	smtp           *mail.Server // LATCH_SMTP_URL; nil: latch sends no mail
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	s := newSettings("serve", getenv, stderr)
	s.usage = "latch serve [--dev] [flags]"
	s.about = "Run the server: the login dialects, the admin API, JWKS, health and metrics. Migrations run on start.\n" +
		"--dev keeps everything in ./latch-dev.db, generates the secret and admin token, creates a demo tenant and user,\n" +
		"and prints curl lines to try each dialect."
	dev := s.fs.Bool("dev", false, "local development: SQLite in ./latch-dev.db, generated secrets, a demo tenant and user")
	store := addStore(s, "sqlite:latch.db")
	listen := s.add("listen", "LATCH_LISTEN", "127.0.0.1:8080", "address to listen on")
	admin := s.add("admin-token", "LATCH_ADMIN_TOKEN", "", "bearer token of the admin API (16+ characters); empty disables it")
	sec := addSecret(s)
	issuer := s.add("issuer", "LATCH_ISSUER", "", "iss claim of access tokens, the service's public URL (default: the value stored in the database at first start)")
	ttl := s.add("access-ttl", "LATCH_ACCESS_TTL", "15m", "access token lifetime")
	alg := s.add("signing-alg", "LATCH_SIGNING_ALG", token.AlgEdDSA, "algorithm of the first signing key: EdDSA, ES256 or RS256 (change it later with latch keys rotate --signing-alg)")
	argon := addArgon(s)
	proxies := s.add("trusted-proxies", "LATCH_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed")
	ipLim := s.add("rate-limit-ip", "LATCH_RATE_LIMIT_IP", identity.DefaultIPLimit.String(), "requests to login routes per client address, like 300/m (off disables)")
	acctLim := s.add("rate-limit-account", "LATCH_RATE_LIMIT_ACCOUNT", identity.DefaultAccountLimit.String(), "failed logins per account from addresses not known for it (the failure ceiling), like 10/m (off disables)")
	redisURL := s.add("redis", "LATCH_REDIS_URL", "", "redis:// URL: rate limits shared by every instance (default: in memory)")
	hashQueue := s.add("hash-queue", "LATCH_HASH_QUEUE", "0", "password hashes that may wait for a worker (0: 32 per CPU); beyond it 503")
	hashWait := s.add("hash-wait", "LATCH_HASH_WAIT", "1s", "longest expected wait for a hashing worker: a login that would wait longer is answered 503 at once")
	private := s.addBool("webhook-allow-private", "LATCH_WEBHOOK_ALLOW_PRIVATE", "false", "deliver webhooks to loopback, private and link-local addresses (tests, closed networks)")
	retry := s.add("webhook-retry-base", "LATCH_WEBHOOK_RETRY_BASE", "5s", "first webhook retry delay; later ones double, with jitter, for up to 3 days")
	retention := s.add("webhook-retention", "LATCH_WEBHOOK_RETENTION", "720h", "how long delivered and failed webhook deliveries stay listable")
	suspend := s.add("webhook-suspend-after", "LATCH_WEBHOOK_SUSPEND_AFTER", "72h", "suspend a webhook endpoint whose deliveries have failed without a success for this long")
	inFlight := s.add("webhook-in-flight", "LATCH_WEBHOOK_IN_FLIGHT", "4", "webhook sends in flight per endpoint (one while it is failing)")
	eventRetention := s.add("event-retention", "LATCH_EVENT_RETENTION", "2160h", "how long events (the audit log) are kept; events a webhook endpoint has yet to deliver are kept longer")
	cors := s.add("cors-origins", "LATCH_CORS_ORIGINS", "", "comma-separated browser origins (https://app.example.com) allowed to call every tenant's dialect routes")
	smtpURL := s.add("smtp-url", "LATCH_SMTP_URL", "", "smtp://[user:password@]host[:port]?from=ADDRESS (or smtps://): latch mails password resets and verification links itself")
	metricsListen := s.add("metrics-listen", "LATCH_METRICS_LISTEN", "", "serve /metrics on this address of its own (and not on --listen)")
	pprof := s.addBool("pprof", "LATCH_PPROF", "false", "serve /debug/pprof/ on the metrics listener (needs LATCH_METRICS_LISTEN)")
	level := s.add("log-level", "LATCH_LOG_LEVEL", "info", "debug, info, warn or error")
	format := s.add("log-format", "LATCH_LOG_FORMAT", "", "json or text (default: text with --dev, else json)")
	if err := s.parse(args); err != nil {
		return nil, err
	}
	c := &serveConfig{dev: *dev, listen: *listen.val, adminToken: *admin.val, alg: *alg.val, algExplicit: alg.explicit(),
		logLevel: *level.val, logFormat: *format.val}
	if c.dev && !store.db.explicit() {
		*store.db.val = "sqlite:latch-dev.db"
	}
	var err error
	c.store = store
	if c.dbName, err = store.check(); err != nil {
		return nil, err
	}
	if c.dev && store.postgres() {
		return nil, usagef("--dev keeps its data and generated secrets in a SQLite file; drop LATCH_DB (or set it to sqlite:PATH) to use it")
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		return nil, listen.badValue("must be HOST:PORT, like 127.0.0.1:8080 or :8080")
	}
	if c.adminToken != "" && len(c.adminToken) < 16 {
		return nil, admin.badValue("must be at least 16 characters")
	}
	if c.secret, err = sec.value(!c.dev); err != nil {
		return nil, err
	}
	if v := *smtpURL.val; v != "" {
		if c.smtp, err = mail.ParseURL(v); err != nil {
			// The message never repeats the value: it may hold a password.
			return nil, usagef("invalid LATCH_SMTP_URL (--smtp-url): %v", err)
		}
	}
	c.issuer = *issuer.val
	if c.issuer != "" {
		if u, err := url.Parse(c.issuer); err != nil || u.Scheme == "" || strings.ContainsAny(c.issuer, " \t\r\n") {
			return nil, issuer.badValue("must be a URL (the service's public URL, like https://auth.example.com) or another URI")
		}
	}
	if c.accessTTL, err = ttl.duration(time.Minute, 24*time.Hour); err != nil {
		return nil, err
	}
	if c.alg != token.AlgEdDSA && c.alg != token.AlgES256 && c.alg != token.AlgRS256 {
		return nil, alg.badValue("must be EdDSA, ES256 or RS256")
	}
	if c.argon, err = argon.params(); err != nil {
		return nil, err
	}
	for _, cidr := range strings.Split(*proxies.val, ",") {
		if cidr = strings.TrimSpace(cidr); cidr == "" {
			continue
		}
		pfx, err := netip.ParsePrefix(cidr)
		if err != nil {
			a, aerr := netip.ParseAddr(cidr)
			if aerr != nil {
				return nil, proxies.badValue("%q is not a CIDR like 10.0.0.0/8", cidr)
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedProxies = append(c.trustedProxies, pfx.Masked())
	}
	for _, l := range []struct {
		st  *setting
		dst *ratelimit.Limit
	}{{ipLim, &c.ipLimit}, {acctLim, &c.accountLimit}} {
		if *l.dst, err = ratelimit.Parse(*l.st.val); err != nil {
			return nil, l.st.badValue("%v", err)
		}
	}
	c.redisURL = *redisURL.val
	if c.redisURL != "" && !strings.HasPrefix(c.redisURL, "redis://") && !strings.HasPrefix(c.redisURL, "rediss://") {
		return nil, redisURL.badValue("must be a redis:// or rediss:// URL")
	}
	q, err := hashQueue.uint(0, 1<<20)
	if err != nil {
		return nil, err
	}
	c.hashPool.MaxQueue = int(q)
	if c.hashPool.MaxWait, err = hashWait.duration(10*time.Millisecond, time.Minute); err != nil {
		return nil, err
	}
	c.allowPrivate = private.on()
	c.metricsListen, c.pprof = *metricsListen.val, pprof.on()
	if c.metricsListen != "" {
		if _, _, err := net.SplitHostPort(c.metricsListen); err != nil {
			return nil, metricsListen.badValue("must be HOST:PORT, like 127.0.0.1:9090 or :9090")
		}
	} else if c.pprof {
		return nil, pprof.badValue("needs LATCH_METRICS_LISTEN: profiles are never served on the public listener")
	}
	if c.retryBase, err = retry.duration(100*time.Millisecond, time.Hour); err != nil {
		return nil, err
	}
	if c.retention, err = retention.duration(time.Hour, 10*365*24*time.Hour); err != nil {
		return nil, err
	}
	if c.suspendAfter, err = suspend.duration(time.Minute, 365*24*time.Hour); err != nil {
		return nil, err
	}
	n, err := inFlight.uint(1, 64)
	if err != nil {
		return nil, err
	}
	c.inFlight = int(n)
	if c.eventRetention, err = eventRetention.duration(time.Hour, 10*365*24*time.Hour); err != nil {
		return nil, err
	}
	for _, o := range strings.Split(*cors.val, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		n, err := identity.ParseOrigin(o)
		if err != nil {
			return nil, cors.badValue("%v", err)
		}
		c.corsOrigins = append(c.corsOrigins, n)
	}
	switch c.logLevel {
	case "debug", "info", "warn", "error":
	default:
		return nil, level.badValue("must be debug, info, warn or error")
	}
	switch c.logFormat {
	case "", "json", "text":
	default:
		return nil, format.badValue("must be json or text")
	}
	return c, nil
}
