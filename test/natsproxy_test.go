package test

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// natsProxy is a TCP proxy on 127.0.0.1 in front of the NATS server, for
// faults no production hook can place: while frozen it holds every byte
// the clients send (acks, pull requests, PONGs) and still forwards every
// byte the server sends, so a pull request already on the server still
// delivers its batch, and what the process does with it never reaches
// NATS.
type natsProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex // guards frozen, conns and the writes to the server
	frozen bool
	conns  map[*proxyConn]struct{}
}

// proxyConn is one client connection and its connection to the server.
type proxyConn struct {
	client, server net.Conn
	held           bytes.Buffer // client bytes not forwarded while frozen
}

// startNATSProxy listens on a free port of 127.0.0.1 and forwards to
// target (host:port); the listener closes at the end of the test.
func startNATSProxy(t *testing.T, target string) *natsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &natsProxy{ln: ln, target: target, conns: map[*proxyConn]struct{}{}}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL is the NATS URL that connects through the proxy.
func (p *natsProxy) URL() string { return "nats://" + p.ln.Addr().String() }

func (p *natsProxy) accept() {
	for {
		cl, err := p.ln.Accept()
		if err != nil {
			return
		}
		srv, err := net.Dial("tcp", p.target)
		if err != nil {
			cl.Close()
			continue
		}
		pc := &proxyConn{client: cl, server: srv}
		p.mu.Lock()
		p.conns[pc] = struct{}{}
		p.mu.Unlock()
		go p.up(pc)
		go func() {
			_, _ = io.Copy(pc.client, pc.server)
			p.drop(pc)
		}()
	}
}

// up forwards client bytes to the server, or holds them while frozen.
func (p *natsProxy) up(pc *proxyConn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := pc.client.Read(buf)
		if n > 0 {
			p.mu.Lock()
			_, live := p.conns[pc]
			var werr error
			switch {
			case !live:
				werr = net.ErrClosed
			case p.frozen:
				pc.held.Write(buf[:n])
			default:
				_, werr = pc.server.Write(buf[:n])
			}
			p.mu.Unlock()
			if werr != nil {
				p.drop(pc)
				return
			}
		}
		if err != nil {
			p.drop(pc)
			return
		}
	}
}

// drop closes a connection pair; its held bytes are discarded.
func (p *natsProxy) drop(pc *proxyConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropLocked(pc)
}

func (p *natsProxy) dropLocked(pc *proxyConn) {
	pc.client.Close()
	pc.server.Close()
	delete(p.conns, pc)
}

// freeze stops forwarding the client→server direction.
func (p *natsProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

// heldAcks counts the JetStream acks held back since the freeze.
func (p *natsProxy) heldAcks() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pc := range p.conns {
		n += bytes.Count(pc.held.Bytes(), []byte("PUB $JS.ACK."))
	}
	return n
}

// thaw forwards the held bytes, in order, and resumes forwarding.
func (p *natsProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		if _, err := pc.server.Write(pc.held.Bytes()); err != nil {
			p.dropLocked(pc)
		}
		pc.held.Reset()
	}
	p.frozen = false
}

// cut closes every connection, discarding the held bytes (they never
// reach NATS), and lets new connections through unfrozen.
func (p *natsProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		p.dropLocked(pc)
	}
	p.frozen = false
}

func (p *natsProxy) close() {
	p.ln.Close()
	p.cut()
}
