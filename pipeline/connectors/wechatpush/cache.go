package wechatpush

import (
	"container/heap"
	"crypto/sha256"
	"sync"
	"time"
)

// nonces remembers the (timestamp, nonce) pairs of the requests taken, each
// until its timestamp leaves the window (after which the timestamp check
// refuses it anyway), so that a captured request cannot be sent again: a
// plaintext body is covered by no signature, so a reused pair could carry
// any body.
//
// Memory is bounded: at most max pairs. When full it refuses new pairs
// (the caller answers 503, WeChat retries) rather than forgetting pairs
// still inside the window, which would reopen them to replay exactly when
// the receiver is busiest. Only correctly signed requests add pairs, so
// nobody without the token can fill it; max only has to exceed WeChat's
// traffic over twice the window.
type nonces struct {
	max int
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // pair → expiry
	exp  expiryHeap           // every pair added, by expiry (released ones too, until they expire)
}

type nonceClaim int

const (
	nonceNew    nonceClaim = iota // first use: taken
	nonceReused                   // seen within the window: refuse
	nonceFull                     // no room: answer 503
)

func newNonces(max int, now func() time.Time) *nonces {
	return &nonces{max: max, now: now, seen: map[string]time.Time{}}
}

// claim records pair, valid until expires, and reports whether it is new.
func (n *nonces) claim(pair string, expires time.Time) nonceClaim {
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.now()
	for len(n.exp) > 0 && n.exp[0].at.Before(now) {
		e := heap.Pop(&n.exp).(expiry)
		if at, ok := n.seen[e.key]; ok && at.Equal(e.at) {
			delete(n.seen, e.key)
		}
	}
	if _, ok := n.seen[pair]; ok {
		return nonceReused
	}
	// The heap, not the map, is counted: it also holds released pairs
	// until they expire, so memory stays bounded however often a pair is
	// released and claimed again.
	if len(n.exp) >= n.max {
		return nonceFull
	}
	n.seen[pair] = expires
	heap.Push(&n.exp, expiry{key: pair, at: expires})
	return nonceNew
}

// release forgets pair: the request that claimed it was answered with a
// 5xx, and WeChat's retry of it may come with the same pair.
func (n *nonces) release(pair string) {
	n.mu.Lock()
	delete(n.seen, pair)
	n.mu.Unlock()
}

func (n *nonces) len() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.seen)
}

type expiry struct {
	key string
	at  time.Time
}

type expiryHeap []expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiry)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// dedup remembers the messages answered, by a digest of their key (a
// message's key is as long as its fields: the digest bounds an entry), for
// a window, and the messages being handled.
//
// Memory is bounded: at most max answered keys; when full the oldest is
// forgotten. That is safe: a retry of a forgotten message is stored again
// and JetStream's duplicate window (or the sinks, which keep one row per
// key) drops it. Keys being handled are at most one per request in flight.
type dedup struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu      sync.Mutex
	pending map[digest]bool
	done    map[digest]time.Time // when answered
	order   []answered           // done keys, oldest first
}

type digest [sha256.Size]byte

type answered struct {
	key digest
	at  time.Time
}

type claim int

const (
	claimNew     claim = iota // first delivery: handle it
	claimPending              // the first delivery is being handled
	claimDone                 // already answered
)

func newDedup(window time.Duration, max int, now func() time.Time) *dedup {
	return &dedup{window: window, max: max, now: now, pending: map[digest]bool{}, done: map[digest]time.Time{}}
}

// claim records key as being handled and reports what it was before.
func (d *dedup) claim(key string) claim {
	k := digest(sha256.Sum256([]byte(key)))
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	for len(d.order) > 0 && now.Sub(d.order[0].at) > d.window {
		d.forgetOldest()
	}
	switch {
	case d.pending[k]:
		return claimPending
	case d.hasDone(k):
		return claimDone
	}
	d.pending[k] = true
	return claimNew
}

func (d *dedup) hasDone(k digest) bool {
	_, ok := d.done[k]
	return ok
}

func (d *dedup) forgetOldest() {
	o := d.order[0]
	d.order = d.order[1:]
	if at, ok := d.done[o.key]; ok && at.Equal(o.at) {
		delete(d.done, o.key)
	}
}

// answered marks key as answered "success".
func (d *dedup) answered(key string) {
	k := digest(sha256.Sum256([]byte(key)))
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.pending, k)
	for len(d.order) >= d.max {
		d.forgetOldest()
	}
	now := d.now()
	d.done[k] = now
	d.order = append(d.order, answered{key: k, at: now})
}

// release forgets key, so that WeChat's retry of a message answered with
// an error is taken.
func (d *dedup) release(key string) {
	k := digest(sha256.Sum256([]byte(key)))
	d.mu.Lock()
	delete(d.pending, k)
	d.mu.Unlock()
}

func (d *dedup) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.done) + len(d.pending)
}
