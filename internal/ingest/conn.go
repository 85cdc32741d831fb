package ingest

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// paho reads a packet with three or four reads on the connection (its
// type byte, each length byte, the rest) and writes every packet with its
// own Write, and the ingest acknowledges a whole batch at once: a thousand
// 4-byte PUBACKs, a thousand syscalls and (TCP_NODELAY) a thousand
// segments the broker reads one by one. The ingest's connection therefore
// reads through a buffer, and gathers what paho writes while a send is
// under way to send it in one: under load acks leave in runs, and an idle
// connection sends each packet at once.
//
// Nothing is lost that a plain connection would keep: Write returns before
// the bytes are sent, but a PUBACK the broker never receives is a message
// it redelivers, and the store skips a stored (device, seq).

// readBuffer is the size of the connection's read buffer.
const readBuffer = 64 << 10

// coalesceLimit is how much written data may wait for the network before
// Write blocks.
const coalesceLimit = 256 << 10

// closeFlushTimeout bounds how long Close waits for written data to go.
const closeFlushTimeout = 2 * time.Second

// dialBroker opens the ingest's broker connection for paho: tcp:// and
// mqtt:// in the clear, ssl:// and mqtts:// with TLS.
func dialBroker(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var c net.Conn
	var err error
	switch u.Scheme {
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", u.Host)
	case "ssl", "mqtts", "tls", "tcps":
		cfg := o.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		c, err = tls.DialWithDialer(d, "tcp", u.Host, cfg)
	default:
		return nil, fmt.Errorf("ingest: broker scheme %q is not tcp, ssl, mqtt or mqtts", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newCoalescingConn(c), nil
}

// coalescingConn is a net.Conn read through a buffer, whose writes a
// goroutine of its own sends, as many as have gathered per send.
type coalescingConn struct {
	net.Conn
	r       *bufio.Reader // only paho's reader goroutine reads
	mu      sync.Mutex
	room    *sync.Cond // signalled when pending shrinks or the conn ends
	pending []byte     // written, not yet sent
	err     error      // the first send error: every later Write returns it
	closed  bool
	wake    chan struct{} // a token: pending has data, or Close was called
	done    chan struct{} // closed when the sender has ended
}

func newCoalescingConn(c net.Conn) *coalescingConn {
	cc := &coalescingConn{Conn: c, r: bufio.NewReaderSize(c, readBuffer), wake: make(chan struct{}, 1), done: make(chan struct{})}
	cc.room = sync.NewCond(&cc.mu)
	go cc.send()
	return cc
}

// Read reads through the buffer.
func (c *coalescingConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write queues p to be sent and returns; it waits only while
// coalesceLimit bytes are already waiting.
func (c *coalescingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	for c.err == nil && !c.closed && len(c.pending) >= coalesceLimit {
		c.room.Wait()
	}
	switch {
	case c.err != nil:
		err := c.err
		c.mu.Unlock()
		return 0, err
	case c.closed:
		c.mu.Unlock()
		return 0, net.ErrClosed
	}
	c.pending = append(c.pending, p...)
	c.mu.Unlock()
	c.signal()
	return len(p), nil
}

func (c *coalescingConn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// send sends what has gathered each time it is woken, until Close (after
// sending what was written before it) or a send error, which closes the
// connection so that paho's reader fails too and paho reconnects.
func (c *coalescingConn) send() {
	defer close(c.done)
	var out []byte
	for range c.wake {
		c.mu.Lock()
		out, c.pending = c.pending, out[:0]
		closed := c.closed
		c.room.Broadcast()
		c.mu.Unlock()
		if len(out) > 0 {
			if _, err := c.Conn.Write(out); err != nil {
				c.mu.Lock()
				if c.err == nil {
					c.err = err
				}
				c.room.Broadcast()
				c.mu.Unlock()
				_ = c.Conn.Close()
				return
			}
		}
		if closed {
			return
		}
	}
}

// Close sends what was written (waiting at most closeFlushTimeout: paho
// writes DISCONNECT and then closes) and closes the connection.
func (c *coalescingConn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.room.Broadcast()
	c.mu.Unlock()
	if first {
		c.signal()
		t := time.NewTimer(closeFlushTimeout)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
		}
	}
	return c.Conn.Close()
}
