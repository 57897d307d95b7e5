// Package metrics holds latch's Prometheus collectors on a registry of its
// own, so that tests and several servers in one process do not collide.
package metrics

import (
	"net/http"
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
	duration *prometheus.HistogramVec
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
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern and status class.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "code"}),
	}
	m.Registry.MustRegister(m.logins, m.refresh, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Login counts one password login.
func (m *Metrics) Login(dialect, outcome string) { m.logins.WithLabelValues(dialect, outcome).Inc() }

// Refresh counts one refresh-token exchange.
func (m *Metrics) Refresh(dialect, outcome string) { m.refresh.WithLabelValues(dialect, outcome).Inc() }

// Observe records one request's latency.
func (m *Metrics) Observe(route string, status int, d time.Duration) {
	code := [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}[min(max(status/100, 1), 5)-1]
	m.duration.WithLabelValues(route, code).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
