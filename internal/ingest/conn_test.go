package ingest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// packet is a 4-byte PUBACK-shaped packet carrying i.
func packet(i int) []byte { return []byte{0x40, 0x02, byte(i >> 8), byte(i)} }

// TestCoalescingConnGathers: while one send is under way, what paho
// writes gathers and leaves in the next send, in order, byte for byte.
func TestCoalescingConnGathers(t *testing.T) {
	near, far := net.Pipe() // a write waits until the far side reads it
	under := &countingConn{Conn: near}
	c := newCoalescingConn(under)
	defer c.Close()
	var want bytes.Buffer
	for i := range 1000 {
		p := packet(i)
		want.Write(p)
		if n, err := c.Write(p); err != nil || n != len(p) {
			t.Fatalf("Write %d = %d, %v", i, n, err)
		}
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(far, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("the far side read other bytes than were written, or in another order")
	}
	// The first packet's send held the pipe until the far side read; the
	// other 999 gathered meanwhile. Two sends at most, one if the sender
	// woke after the last Write.
	if n := under.writes.Load(); n < 1 || n > 2 {
		t.Errorf("1,000 writes reached the network in %d sends, want 1 or 2", n)
	}
}

// TestCoalescingConnCloseSends: Close sends what was written before it
// (paho writes DISCONNECT and closes at once), then the far side sees EOF.
func TestCoalescingConnCloseSends(t *testing.T) {
	near, far := net.Pipe()
	c := newCoalescingConn(near)
	read := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(far)
		read <- b
	}()
	for i := range 3 {
		if _, err := c.Write(packet(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-read; !bytes.Equal(got, append(append(packet(0), packet(1)...), packet(2)...)) {
		t.Errorf("far side read % x before EOF", got)
	}
	if _, err := c.Write(packet(3)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}

// TestCoalescingConnSendError: once a send fails, the connection is
// closed under paho's reader too (so paho reconnects), and every Write
// fails instead of queueing bytes that will never leave.
func TestCoalescingConnSendError(t *testing.T) {
	near, far := net.Pipe()
	c := newCoalescingConn(near)
	defer c.Close()
	far.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := c.Write(packet(1))
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Write still succeeds 5 s after the far side closed")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("Read succeeded on a connection whose send failed")
	}
}

// TestCoalescingConnReadsThroughBuffer: paho's many small reads see the
// stream as sent.
func TestCoalescingConnReadsThroughBuffer(t *testing.T) {
	near, far := net.Pipe()
	c := newCoalescingConn(near)
	defer c.Close()
	want := bytes.Repeat([]byte("calibd"), 10_000)
	go func() {
		_, _ = far.Write(want)
		far.Close()
	}()
	var got []byte
	one := make([]byte, 1)
	for len(got) < 16 { // a type byte, a length byte, ... as paho reads
		if _, err := io.ReadFull(c, one); err != nil {
			t.Fatal(err)
		}
		got = append(got, one[0])
	}
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got = append(got, rest...); !bytes.Equal(got, want) {
		t.Errorf("read %d bytes, not the %d sent", len(got), len(want))
	}
}
