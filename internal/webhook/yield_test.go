package webhook

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
)

// holdRequests keeps n requests in flight through rq until the returned
// function is called.
func holdRequests(t *testing.T, rq *Requests, n int) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	h := rq.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-gate }))
	for range n {
		go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	for rq.InFlight() < n {
		runtime.Gosched()
	}
	return func() { close(gate) }
}

// Requests that hang (slow clients, long polls) make the server look
// busy without serving anything: sends go on at the floor's pace rather
// than stop.
func TestYieldGoesOnWhileRequestsHang(t *testing.T) {
	var rq Requests
	d := &Dispatcher{Requests: &rq, BusyAt: 1}
	d.init()
	release := holdRequests(t, &rq, 3)
	defer release()
	if !d.busy() {
		t.Fatal("3 requests in flight, BusyAt 1: not busy")
	}
	for range 50 {
		d.yield()
	}
}

// Once the requests are fewer than BusyAt, sends go without waiting for
// credit, and the sends that waited are let go.
func TestYieldReturnsWhenNotBusy(t *testing.T) {
	var rq Requests
	d := &Dispatcher{Requests: &rq, BusyAt: 1}
	d.init()
	d.pace.credit = -1e9 // no send may go on credit
	release := holdRequests(t, &rq, 2)
	done := make(chan struct{})
	for range 4 {
		go func() { d.yield(); done <- struct{}{} }()
	}
	release()
	for range 4 {
		<-done
	}
	for rq.InFlight() > 0 {
		runtime.Gosched()
	}
	for range 100 {
		d.yield()
	}
}

// While busy, every request served earns BusyPace sends.
func TestYieldCreditPerRequest(t *testing.T) {
	var rq Requests
	d := &Dispatcher{Requests: &rq, BusyAt: 1, BusyPace: 3}
	d.init()
	release := holdRequests(t, &rq, 2)
	defer release()
	h := rq.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	d.yield() // starts the accounting
	d.pace.mu.Lock()
	before := d.pace.credit
	d.pace.mu.Unlock()
	for range 10 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
	d.yield()
	d.pace.mu.Lock()
	after := d.pace.credit
	d.pace.mu.Unlock()
	// 30 earned by the requests, one spent; the floor adds a little.
	if got := after - before; got < 29 || got > 29+paceBurst {
		t.Fatalf("credit grew by %.1f over 10 requests, want 29 and a little", got)
	}
}
