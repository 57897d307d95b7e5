package webhook

import (
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Requests counts the requests a server is handling and has served, so
// that a Dispatcher can give way to them (see Dispatcher.Requests).
type Requests struct {
	inFlight atomic.Int64
	served   atomic.Int64
	done     chan struct{} // a request ended: a paced send may go
	once     sync.Once
}

func (r *Requests) init() {
	r.once.Do(func() { r.done = make(chan struct{}, 1) })
}

// Handler counts the requests next handles.
func (r *Requests) Handler(next http.Handler) http.Handler {
	r.init()
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.inFlight.Add(1)
		defer r.end()
		next.ServeHTTP(w, req)
	})
}

func (r *Requests) end() {
	r.served.Add(1)
	r.inFlight.Add(-1)
	select {
	case r.done <- struct{}{}:
	default:
	}
}

// InFlight is how many requests are being handled now.
func (r *Requests) InFlight() int { return int(r.inFlight.Load()) }

// pacer holds sends to BusyPace per request served while the server is
// busy.
type pacer struct {
	mu     sync.Mutex
	served int64     // the requests served when credit was last added
	at     time.Time // when credit was last added
	credit float64   // sends that may start now
}

// paceFloor is how many sends a second go while busy whatever the requests
// served: requests in flight that take long without using the processors
// (slow clients, long polls) make the server look busy, and delivery
// must not stop for them.
const paceFloor = 500

// paceBurst is the most credit that builds up: a pause in the sends does
// not turn into a burst of them later.
const paceBurst = 512

// busy says whether the server has more requests in flight than BusyAt:
// they wait for the processors, and a send started now takes its
// processor time from them.
func (d *Dispatcher) busy() bool {
	return d.Requests != nil && d.Requests.InFlight() > d.BusyAt
}

// yield returns at once while the server is not busy; while it is, it
// returns when the requests it served since the last send have earned one
// (BusyPace sends a request). A send costs the processors about as much as
// a tenth of a refresh (an HTTP exchange here, and one at the receiver,
// perhaps on the same machine): with ten endpoints every refresh brought
// ten, and the logins got a third of the processors. Paced, delivery
// takes a bounded share of them, falls behind while the load lasts (its
// backlog is the event log, read from each endpoint's cursor: nothing is
// lost, and a crash re-sends from the saved cursor as before) and catches
// up at full speed once the requests are fewer. One endpoint, one event a
// request, keeps pace (BusyPace is 2 by default).
func (d *Dispatcher) yield() {
	if d.Requests == nil {
		return
	}
	p := &d.pace
	for waited := false; ; waited = true {
		busy := d.busy()
		p.mu.Lock()
		// Credit builds up whether busy or not (up to paceBurst): the
		// in-flight count dips below BusyAt now and then under load, and
		// the sends of a batch read then must not wait one by one.
		served, now := d.Requests.served.Load(), time.Now()
		if p.at.IsZero() {
			p.served, p.at = served, now
		}
		p.credit = min(p.credit+d.BusyPace*float64(served-p.served)+paceFloor*now.Sub(p.at).Seconds(), paceBurst)
		p.served, p.at = served, now
		if !busy {
			p.mu.Unlock()
			if waited {
				d.nudge() // the others waiting may go too
			}
			return
		}
		if p.credit >= 1 {
			p.credit--
			more := p.credit >= 1
			p.mu.Unlock()
			if more {
				d.nudge() // another waiting send may go too
			}
			return
		}
		p.mu.Unlock()
		// A request ending (and so, perhaps, the load) wakes one waiting
		// send; the timer is for requests that take long (the floor): not
		// shorter, as every waiting send has one.
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-d.Requests.done:
		case <-t.C:
		}
		t.Stop()
	}
}

// nudge wakes one send waiting in yield.
func (d *Dispatcher) nudge() {
	select {
	case d.Requests.done <- struct{}{}:
	default:
	}
}
