package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/ratelimit"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// setting is one configuration value: a flag, its LATCH_* variable and a
// default. The flag wins over the variable, the variable over the default.
type setting struct {
	flag, env, def, help string
	val                  *string
}

type settings struct {
	fs     *flag.FlagSet
	list   []*setting
	getenv func(string) string
}

func newSettings(name string, getenv func(string) string, stderr io.Writer) *settings {
	fs := flag.NewFlagSet("latch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &settings{fs: fs, getenv: getenv}
}

func (s *settings) add(flagName, env, def, help string) *setting {
	st := &setting{flag: flagName, env: env, def: def, help: help}
	st.val = s.fs.String(flagName, "", fmt.Sprintf("%s (env %s, default %q)", help, env, def))
	s.list = append(s.list, st)
	return st
}

func (s *settings) parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return errUsage
	}
	if s.fs.NArg() > 0 {
		fmt.Fprintf(s.fs.Output(), "latch: unexpected argument %q\n", s.fs.Arg(0))
		return errUsage
	}
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, st := range s.list {
		if !set[st.flag] {
			if v := s.getenv(st.env); v != "" {
				*st.val = v
			} else {
				*st.val = st.def
			}
		}
	}
	return nil
}

// badValue names the setting both ways, since the operator may have used either.
func (st *setting) badValue(format string, args ...any) error {
	return fmt.Errorf("invalid %s (--%s) %q: %s", st.env, st.flag, *st.val, fmt.Sprintf(format, args...))
}

func (st *setting) duration(lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(*st.val)
	if err != nil {
		return 0, st.badValue("not a duration (like 15m or 1h)")
	}
	if d < lo || d > hi {
		return 0, st.badValue("must be between %v and %v", lo, hi)
	}
	return d, nil
}

func (st *setting) uint(lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(*st.val, 10, 32)
	if err != nil || n < lo || n > hi {
		return 0, st.badValue("must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

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
			return "", errors.New("invalid LATCH_DB (--db): not a PostgreSQL URL like postgres://user:password@host:5432/latch")
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

type secretConfig struct{ secret *setting }

func addSecret(s *settings) secretConfig {
	return secretConfig{secret: s.add("secret", "LATCH_SECRET", "", "deployment secret (32+ bytes): encrypts signing keys, keys opaque tokens")}
}

func (c secretConfig) value(required bool) ([]byte, error) {
	v := *c.secret.val
	switch {
	case v == "" && required:
		return nil, errors.New("LATCH_SECRET (--secret) is required: 32 or more random bytes, for example from `openssl rand -base64 48`")
	case v != "" && len(v) < 32:
		return nil, fmt.Errorf("invalid LATCH_SECRET (--secret): must be at least 32 bytes, got %d", len(v))
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
	issuer         string
	accessTTL      time.Duration
	alg            string
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
	corsOrigins    []string
}

func parseServe(args []string, getenv func(string) string, stderr io.Writer) (*serveConfig, error) {
	s := newSettings("serve", getenv, stderr)
	dev := s.fs.Bool("dev", false, "local development: SQLite in ./latch-dev.db, generated secrets, a demo tenant and user")
	store := addStore(s, "")
	listen := s.add("listen", "LATCH_LISTEN", "127.0.0.1:8080", "address to listen on")
	admin := s.add("admin-token", "LATCH_ADMIN_TOKEN", "", "bearer token of the admin API (16+ characters); empty disables it")
	sec := addSecret(s)
	issuer := s.add("issuer", "LATCH_ISSUER", "", "iss claim of access tokens (default http://LISTEN)")
	ttl := s.add("access-ttl", "LATCH_ACCESS_TTL", "15m", "access token lifetime")
	alg := s.add("signing-alg", "LATCH_SIGNING_ALG", token.AlgEdDSA, "access token algorithm: EdDSA, ES256 or RS256")
	mem := s.add("argon2-memory", "LATCH_ARGON2_MEMORY", strconv.Itoa(int(password.DefaultParams.Memory)), "argon2id memory in KiB")
	tm := s.add("argon2-time", "LATCH_ARGON2_TIME", strconv.Itoa(int(password.DefaultParams.Time)), "argon2id passes")
	th := s.add("argon2-threads", "LATCH_ARGON2_THREADS", strconv.Itoa(int(password.DefaultParams.Threads)), "argon2id lanes")
	proxies := s.add("trusted-proxies", "LATCH_TRUSTED_PROXIES", "", "comma-separated CIDRs whose X-Forwarded-For is believed")
	ipLim := s.add("rate-limit-ip", "LATCH_RATE_LIMIT_IP", identity.DefaultIPLimit.String(), "requests to login routes per client address, like 300/m (off disables)")
	acctLim := s.add("rate-limit-account", "LATCH_RATE_LIMIT_ACCOUNT", identity.DefaultAccountLimit.String(), "failed logins per account from addresses not known for it (the failure ceiling), like 10/m (off disables)")
	redisURL := s.add("redis", "LATCH_REDIS_URL", "", "redis:// URL: rate limits shared by every instance (default: in memory)")
	hashQueue := s.add("hash-queue", "LATCH_HASH_QUEUE", "0", "password hashes that may wait for a worker (0: 32 per CPU); beyond it 503")
	hashWait := s.add("hash-wait", "LATCH_HASH_WAIT", "1s", "longest expected wait for a hashing worker: a login that would wait longer is answered 503 at once")
	private := s.add("webhook-allow-private", "LATCH_WEBHOOK_ALLOW_PRIVATE", "false", "deliver webhooks to loopback, private and link-local addresses (tests, closed networks)")
	retry := s.add("webhook-retry-base", "LATCH_WEBHOOK_RETRY_BASE", "5s", "first webhook retry delay; later ones double, with jitter, for up to 3 days")
	retention := s.add("webhook-retention", "LATCH_WEBHOOK_RETENTION", "720h", "how long delivered and failed webhook deliveries stay listable")
	cors := s.add("cors-origins", "LATCH_CORS_ORIGINS", "", "comma-separated browser origins (https://app.example.com) allowed to call every tenant's dialect routes")
	level := s.add("log-level", "LATCH_LOG_LEVEL", "info", "debug, info, warn or error")
	format := s.add("log-format", "LATCH_LOG_FORMAT", "", "json or text (default: text with --dev, else json)")
	if err := s.parse(args); err != nil {
		return nil, err
	}
	c := &serveConfig{dev: *dev, listen: *listen.val, adminToken: *admin.val, alg: *alg.val, logLevel: *level.val, logFormat: *format.val}
	if *store.db.val == "" {
		*store.db.val = "sqlite:latch.db"
		if c.dev {
			*store.db.val = "sqlite:latch-dev.db"
		}
	}
	var err error
	c.store = store
	if c.dbName, err = store.check(); err != nil {
		return nil, err
	}
	if c.dev && store.postgres() {
		return nil, errors.New("--dev keeps its data and generated secrets in a SQLite file; drop LATCH_DB (or set it to sqlite:PATH) to use it")
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
	c.issuer = *issuer.val
	if c.issuer == "" {
		c.issuer = "http://" + c.listen
	}
	if c.accessTTL, err = ttl.duration(time.Minute, 24*time.Hour); err != nil {
		return nil, err
	}
	if c.alg != token.AlgEdDSA && c.alg != token.AlgES256 && c.alg != token.AlgRS256 {
		return nil, alg.badValue("must be EdDSA, ES256 or RS256")
	}
	m, err := mem.uint(64, password.MaxArgon2Memory)
	if err != nil {
		return nil, err
	}
	t, err := tm.uint(1, password.MaxArgon2Time)
	if err != nil {
		return nil, err
	}
	p, err := th.uint(1, password.MaxArgon2Threads)
	if err != nil {
		return nil, err
	}
	c.argon = password.Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p), SaltLen: 16, KeyLen: 32}
	if err := c.argon.Validate(); err != nil {
		return nil, mem.badValue("%v", err)
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
	switch *private.val {
	case "true", "1":
		c.allowPrivate = true
	case "false", "0":
	default:
		return nil, private.badValue("must be true or false")
	}
	if c.retryBase, err = retry.duration(100*time.Millisecond, time.Hour); err != nil {
		return nil, err
	}
	if c.retention, err = retention.duration(time.Hour, 10*365*24*time.Hour); err != nil {
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
