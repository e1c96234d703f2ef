package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/sasl"
)

// authSOCKS is a SOCKS5 server (RFC 1928 CONNECT to a name, RFC 1929
// user name and password, or no authentication) that sends every
// connection to one upstream and records what each client sent.
type authSOCKS struct {
	ln       net.Listener
	upstream string
	mu       sync.Mutex
	seen     []string // "user:pass name:port", or "- name:port" without auth
}

func startAuthSOCKS(t *testing.T, upstream string) *authSOCKS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &authSOCKS{ln: ln, upstream: upstream}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.handle(c)
		}
	}()
	return p
}

func (p *authSOCKS) records() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func readN(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

func (p *authSOCKS) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	hdr, err := readN(r, 2)
	if err != nil || hdr[0] != 5 {
		return
	}
	methods, err := readN(r, int(hdr[1]))
	if err != nil {
		return
	}
	cred := "-"
	if strings.ContainsRune(string(methods), 2) {
		c.Write([]byte{5, 2})
		v, err := readN(r, 2)
		if err != nil || v[0] != 1 {
			return
		}
		user, err := readN(r, int(v[1]))
		if err != nil {
			return
		}
		pl, err := readN(r, 1)
		if err != nil {
			return
		}
		pass, err := readN(r, int(pl[0]))
		if err != nil {
			return
		}
		cred = string(user) + ":" + string(pass)
		c.Write([]byte{1, 0})
	} else {
		c.Write([]byte{5, 0})
	}
	req, err := readN(r, 4)
	if err != nil || req[1] != 1 || req[3] != 3 {
		return
	}
	n, err := r.ReadByte()
	if err != nil {
		return
	}
	name, err := readN(r, int(n)+2)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, fmt.Sprintf("%s %s:%d", cred, name[:n], binary.BigEndian.Uint16(name[n:])))
	p.mu.Unlock()
	u, err := net.Dial("tcp", p.upstream)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer u.Close()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	_ = c.SetDeadline(time.Time{})
	go func() { io.Copy(u, r); u.Close() }()
	io.Copy(c, u)
}

// TestIsolatedSOCKSDialer: the onion name goes to the proxy unresolved,
// with the isolation value as SOCKS credentials (none when empty), and a
// key login through it binds the onion name.
func TestIsolatedSOCKSDialer(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	const onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeAs(ln, ircd.Listener{Kind: "onion", Host: onion, Port: 6667})
	px := startAuthSOCKS(t, ln.Addr().String())
	iso, err := NewIsolation("bot")
	if err != nil || !strings.HasPrefix(iso, "bot-") || len(iso) != len("bot-")+8 {
		t.Fatalf("NewIsolation = %q, %v", iso, err)
	}
	if other, _ := NewIsolation("bot"); other == iso {
		t.Fatal("two isolation values are equal")
	}
	key := newKey(t)
	for _, isolation := range []string{iso, ""} {
		dial, err := IsolatedSOCKSDialer(px.ln.Addr().String(), isolation)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Dial(context.Background(), Config{Addr: onion + ":6667", Dial: dial, Signer: sasl.NewKeySigner(key), Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("login through the proxy (isolation %q): %v", isolation, err)
		}
		if c.Account() != accountOf(t, key) {
			t.Fatalf("account %q", c.Account())
		}
		c.Close()
	}
	want := []string{iso + ":" + iso + " " + onion + ":6667", "- " + onion + ":6667"}
	if got := px.records(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("proxy saw %q, want %q", got, want)
	}
	for _, bad := range []string{"", "nope", "127.0.0.1:0", "127.0.0.1:x", ":9050"} {
		if _, err := IsolatedSOCKSDialer(bad, "x"); err == nil {
			t.Errorf("IsolatedSOCKSDialer(%q) accepted", bad)
		}
	}
	if _, err := IsolatedSOCKSDialer("127.0.0.1:9050", strings.Repeat("x", 256)); err == nil {
		t.Error("a 256-byte isolation value was accepted")
	}
}
