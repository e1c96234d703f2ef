package client

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/client/clienttest"
	"github.com/thorchat/thorchat/sasl"
)

// deviceLogin logs in over a raw connection with ECDSA-NIST256P-CHALLENGE
// (as weechat does: authcid NUL authzid) and returns the final numeric:
// 903 on success, 904 on refusal.
func deviceLogin(t *testing.T, addr, account string, k *ecdsa.PrivateKey) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	fmt.Fprintf(nc, "CAP REQ :sasl\r\nNICK dev%d\r\nUSER dev 0 * :dev\r\nAUTHENTICATE %s\r\n", time.Now().UnixNano()%10000, MechECDSA)
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "AUTHENTICATE" {
			if f[1] == "+" {
				fmt.Fprintf(nc, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString([]byte(account+"\x00"+account)))
				continue
			}
			ch, err := base64.StdEncoding.DecodeString(f[1])
			if err != nil {
				t.Fatalf("challenge %q: %v", f[1], err)
			}
			sig, err := SignDeviceChallenge(k, ch)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(nc, "AUTHENTICATE %s\r\n", base64.StdEncoding.EncodeToString(sig))
			continue
		}
		if len(f) >= 2 && (f[1] == "903" || f[1] == "904" || f[1] == "902") {
			return f[1]
		}
	}
	t.Fatalf("no SASL result: %v", sc.Err())
	return ""
}

// TestCredentials enrols a device key and a token through NickServ, logs
// in with each, lists, revokes, and checks the revoked ones are refused.
func TestCredentials(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	account := accountOf(t, key)
	ctx := context.Background()
	owner, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(key)})
	if err != nil {
		t.Fatal(err)
	}
	dk, err := GenerateDeviceKey()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := DevicePublicKey(&dk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.AddDevice(ctx, "laptop", pub, "30d"); err != nil {
		t.Fatalf("AddDevice: %v", err)
	}
	var ne *NickServError
	if err := owner.AddDevice(ctx, "laptop", pub, ""); !errors.As(err, &ne) || !strings.Contains(ne.Text, "exists") {
		t.Fatalf("AddDevice twice: %v, want a NickServError saying the label exists", err)
	}
	if err := owner.AddDevice(ctx, "bad", "not-a-key", ""); !errors.As(err, &ne) || !strings.Contains(ne.Text, "DEVICE ADD failed") {
		t.Fatalf("AddDevice with a bad key: %v", err)
	}
	if err := owner.AddDevice(ctx, "two words", pub, ""); !errors.Is(err, ErrBadParam) {
		t.Fatalf("AddDevice with a spaced label: %v, want ErrBadParam", err)
	}
	token, err := owner.NewToken(ctx, "bot", "")
	if err != nil {
		t.Fatalf("NewToken: %v", err)
	}
	list, err := owner.ListCredentials(ctx)
	if err != nil {
		t.Fatalf("ListCredentials: %v", err)
	}
	if len(list) != 2 || list[0].Label != "bot" || list[0].Kind != "token" ||
		list[1].Label != "laptop" || list[1].Kind != "device" || list[1].Key != pub ||
		!strings.Contains(list[1].Info, "expires ") {
		t.Fatalf("ListCredentials = %+v", list)
	}

	plain := func() error {
		c, err := dialT(t, Config{Addr: srv.Addr, Mechanism: "PLAIN", PlainUser: account, PlainPass: token})
		if err == nil && c.Account() != account {
			return fmt.Errorf("PLAIN logged in as %q, want %q", c.Account(), account)
		}
		return err
	}
	if err := plain(); err != nil {
		t.Fatalf("PLAIN with the token: %v", err)
	}
	if got := deviceLogin(t, srv.Addr, account, dk); got != "903" {
		t.Fatalf("device login: %s, want 903", got)
	}
	other, _ := GenerateDeviceKey()
	if got := deviceLogin(t, srv.Addr, account, other); got != "904" {
		t.Fatalf("device login with an unenrolled key: %s, want 904", got)
	}

	for _, l := range []string{"laptop", "bot"} {
		if err := owner.RevokeCredential(ctx, l); err != nil {
			t.Fatalf("revoke %s: %v", l, err)
		}
	}
	if err := owner.RevokeCredential(ctx, "laptop"); !errors.As(err, &ne) {
		t.Fatalf("revoke twice: %v", err)
	}
	var se *SASLError
	if err := plain(); !errors.As(err, &se) || se.Code != "904" {
		t.Fatalf("PLAIN with a revoked token: %v, want 904", err)
	}
	if got := deviceLogin(t, srv.Addr, account, dk); got != "904" {
		t.Fatalf("device login after revoke: %s, want 904", got)
	}
	if list, err := owner.ListCredentials(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListCredentials after revoking all: %v %v", list, err)
	}
}

// TestCredentialsRefused: only a session logged in with the account's own
// key may manage credentials.
func TestCredentialsRefused(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{})
	key := newKey(t)
	account := accountOf(t, key)
	ctx := context.Background()
	owner, err := dialT(t, Config{Addr: srv.Addr, Signer: sasl.NewKeySigner(key)})
	if err != nil {
		t.Fatal(err)
	}
	token, err := owner.NewToken(ctx, "t1", "")
	if err != nil {
		t.Fatal(err)
	}
	guest, err := dialT(t, Config{Addr: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	byToken, err := dialT(t, Config{Addr: srv.Addr, Mechanism: "PLAIN", PlainUser: account, PlainPass: token})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Conn{"guest": guest, "token session": byToken} {
		_, err := c.NewToken(ctx, "t2", "")
		var ne *NickServError
		if !errors.As(err, &ne) || !strings.Contains(ne.Text, "own key") {
			t.Errorf("%s: NewToken = %v, want a refusal", name, err)
		}
	}
}

// TestNickServTimeout: NickServ refusing (no accounts) is an error, and a
// wait for an answer that never comes ends at the context's deadline and
// closes the connection.
func TestNickServTimeout(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Options{NoAuth: true})
	c, err := dialT(t, Config{Addr: srv.Addr})
	if err != nil {
		t.Fatal(err)
	}
	// Without accounts NickServ answers "Accounts are not enabled".
	if _, err := c.ListCredentials(context.Background()); err == nil {
		t.Fatal("ListCredentials without accounts succeeded")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	// A handler that never finishes waits until ctx ends.
	err = c.nickServ(ctx, "TEST", "x", func(string) (bool, error) { return false, nil }, "x")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("nickServ on silence: %v after %v", err, time.Since(start))
	}
	if err := c.Send("PING", "x"); err == nil {
		t.Fatal("the connection is still open after the timeout")
	}
}
