// Package metrics holds latch's Prometheus collectors on a registry of its
// own, so that tests and several servers in one process do not collide.
package metrics

import (
	"context"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the collectors the HTTP layer and the dialects update.
type Metrics struct {
	Registry *prometheus.Registry
	logins   *prometheus.CounterVec
	refresh  *prometheus.CounterVec
	logouts  *prometheus.CounterVec
	duration *prometheus.HistogramVec
	limited  *prometheus.CounterVec
	fallback prometheus.Counter
	hashWait prometheus.Histogram
	webhooks *prometheus.CounterVec
	delivery prometheus.Histogram
	mails    *prometheus.CounterVec
	upstream *prometheus.HistogramVec
}

// New registers latch's collectors and the Go runtime ones.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_logins_total", Help: "Password logins by dialect and outcome.",
		}, []string{"dialect", "outcome"}),
		refresh: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_refreshes_total", Help: "Refresh-token exchanges by dialect and outcome (rotated, grace, invalid, reused, ...).",
		}, []string{"dialect", "outcome"}),
		logouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_logouts_total", Help: "Logouts by dialect and outcome.",
		}, []string{"dialect", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_rate_limited_total", Help: "Requests refused by a rate limit, by limit (ip, account, session, failed_logins, second_factor, tenant_ip) and dialect.",
		}, []string{"limit", "dialect"}),
		fallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_rate_limit_fallbacks_total", Help: "Rate-limit checks answered from memory because Redis did not answer.",
		}),
		hashWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "latch_password_hash_wait_seconds", Help: "Time password hashes waited for a worker of the bounded pool.",
			Buckets: []float64{0, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2},
		}),
	}
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_webhook_attempts_total", Help: "Webhook delivery attempts by outcome (delivered, retry, failed).",
	}, []string{"outcome"})
	m.delivery = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "latch_webhook_event_to_delivery_seconds", Help: "Time from an event to its successful delivery.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 5, 30, 300, 3600},
	})
	// One histogram gives both: its _count by outcome is the calls counter.
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "latch_migration_upstream_seconds", Help: "Lazy-migration logins checked at the upstream, by upstream dialect and outcome (ok, rejected, timeout, unavailable), and their latency.",
		Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"dialect", "outcome"})
	m.mails = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "latch_mails_total", Help: "Mail delivery attempts (password resets, verification) by outcome (sent, retry, failed).",
	}, []string{"outcome"})
	m.Registry.MustRegister(m.mails, m.upstream, m.logins, m.refresh, m.logouts, m.duration, m.limited, m.fallback, m.hashWait, m.webhooks, m.delivery,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Mail counts one mail delivery attempt by outcome: sent, retry, failed.
func (m *Metrics) Mail(outcome string) { m.mails.WithLabelValues(outcome).Inc() }

// Login counts one password login.
func (m *Metrics) Login(dialect, outcome string) { m.logins.WithLabelValues(dialect, outcome).Inc() }

// Refresh counts one refresh-token exchange.
func (m *Metrics) Refresh(dialect, outcome string) { m.refresh.WithLabelValues(dialect, outcome).Inc() }

// Logout counts one logout.
func (m *Metrics) Logout(dialect, outcome string) { m.logouts.WithLabelValues(dialect, outcome).Inc() }

// RateLimited counts one request refused by the named limit.
func (m *Metrics) RateLimited(limit, dialect string) { m.limited.WithLabelValues(limit, dialect).Inc() }

// RateLimitFallback counts one limiter answer given from memory because
// Redis failed.
func (m *Metrics) RateLimitFallback() { m.fallback.Inc() }

// HashPool is what the metrics read of the password hasher's pool.
type HashPool interface {
	Waiting() int
	Workers() int
}

// ObserveHashPool exports the pool's queue depth and size, and returns
// the function that records each hash's wait for a worker.
func (m *Metrics) ObserveHashPool(p HashPool) func(time.Duration) {
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "latch_password_hash_queue_depth",
			Help: "Password hashes waiting for a worker now."}, func() float64 { return float64(p.Waiting()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "latch_password_hash_workers",
			Help: "Size of the password hashing worker pool."}, func() float64 { return float64(p.Workers()) }),
	)
	return func(d time.Duration) { m.hashWait.Observe(d.Seconds()) }
}

// WebhookDelivery counts one delivery attempt and, for a delivery, the
// time since its event.
func (m *Metrics) WebhookDelivery(outcome string, sinceEvent time.Duration) {
	m.webhooks.WithLabelValues(outcome).Inc()
	if outcome == "delivered" {
		m.delivery.Observe(sinceEvent.Seconds())
	}
}

// UpstreamCall records one lazy-migration call to an upstream.
func (m *Metrics) UpstreamCall(dialect, outcome string, d time.Duration) {
	m.upstream.WithLabelValues(dialect, outcome).Observe(d.Seconds())
}

// ObserveWebhookQueue exports how many deliveries are pending, read from
// the store at each scrape.
func (m *Metrics) ObserveWebhookQueue(pending func(context.Context) (int, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "latch_webhook_queue_depth",
		Help: "Webhook deliveries waiting to be delivered (due or retrying)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, err := pending(ctx)
		if err != nil {
			return -1
		}
		return float64(n)
	}))
}

// Observe records one request's latency.
func (m *Metrics) Observe(route string, status int, d time.Duration) {
	code := [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}[min(max(status/100, 1), 5)-1]
	if status == 499 {
		code = "499" // the client went away: neither its error nor the server's
	}
	m.duration.WithLabelValues(route, code).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// BuildInfo exports latch_build_info{version, revision, goversion} = 1, so
// that dashboards can tell which build each instance runs.
func (m *Metrics) BuildInfo(version, revision, goVersion string) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "latch_build_info", Help: "The running build: module version, VCS revision and Go version; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	m.Registry.MustRegister(g)
}

// ListenerHandler is the handler of the metrics listener
// (LATCH_METRICS_LISTEN): /metrics, and the Go profiler under
// /debug/pprof/ when withPprof is set. Profiles expose memory contents and
// cost CPU, so they are never on the public listener.
func (m *Metrics) ListenerHandler(withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
