package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thorchat/thorchat/sasl"
)

func TestServeSign(t *testing.T) {
	key, other := newKey(t), newKey(t)
	pub := key.PubKey().SerializeCompressed()
	onion := sasl.Endpoint{Host: "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", Port: 6667}
	msgFor := func(ep sasl.Endpoint, pub []byte) []byte {
		m, err := sasl.Message(ep, pub, bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	good := msgFor(onion, pub)
	tests := []struct {
		name   string
		op     string
		in     string
		policy SignPolicy
		want   error // nil: a signature over good
	}{
		{"sign", "sign", hex.EncodeToString(good) + "\n", SignPolicy{}, nil},
		{"sign, hex wrapped", "sign", strings.Join([]string{hex.EncodeToString(good[:40]), hex.EncodeToString(good[40:])}, "\n "), SignPolicy{}, nil},
		{"sign, host allowed", "sign", hex.EncodeToString(good), SignPolicy{Hosts: []string{"x.onion", onion.Host}}, nil},
		{"host not allowed", "sign", hex.EncodeToString(good), SignPolicy{Hosts: []string{"x.onion"}}, ErrSignRefused},
		{"another key's message", "sign", hex.EncodeToString(msgFor(onion, other.PubKey().SerializeCompressed())), SignPolicy{}, ErrSignRefused},
		{"not a login message", "sign", hex.EncodeToString([]byte("transfer 1000 RUNE")), SignPolicy{}, ErrSignRefused},
		{"truncated message", "sign", hex.EncodeToString(good[:len(good)-1]), SignPolicy{}, ErrSignRefused},
		{"not hex", "sign", "zz", SignPolicy{}, ErrSignRefused},
		{"too long", "sign", strings.Repeat("00", maxSignInput), SignPolicy{}, ErrSignRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ServeSign(tt.op, strings.NewReader(tt.in), &out, key, tt.policy)
			if tt.want != nil {
				if !errors.Is(err, tt.want) || out.Len() != 0 {
					t.Fatalf("ServeSign = %v, printed %q; want %v and nothing", err, out.String(), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sig, err := hex.DecodeString(strings.TrimSpace(out.String()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sasl.Verify(pub, good, sig); err != nil {
				t.Fatalf("signature: %v", err)
			}
		})
	}
	var out bytes.Buffer
	if err := ServeSign("pubkey", strings.NewReader(""), &out, key, SignPolicy{}); err != nil || out.String() != hex.EncodeToString(pub)+"\n" {
		t.Fatalf("pubkey: %q, %v", out.String(), err)
	}
	if err := ServeSign("", strings.NewReader(""), &out, key, SignPolicy{}); err == nil {
		t.Fatal("no error for an empty THORCHAT_SIGN")
	}
}

// TestServeSignAsCommand: a CommandSigner over the reference signer signs
// a login message, and is refused anything else.
func TestServeSignAsCommand(t *testing.T) {
	key := newKey(t)
	s, err := NewCommandSigner(context.Background(), signCmd(t, "serve", key), CommandOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sasl.Message(sasl.Endpoint{Host: "irc.example", Port: 6667}, s.PublicKey(), bytes.Repeat([]byte{3}, 32), bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := sasl.Verify(s.PublicKey(), m, sig[:]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignMessage([]byte("anything else")); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("SignMessage of a non-login message: %v", err)
	}
}

// TestServeSignLinkMessages: the reference signer signs THORCHAT-LINK/1
// messages that name its key as the old or the new key, within its hosts,
// and nothing else.
func TestServeSignLinkMessages(t *testing.T) {
	key, a, b := newKey(t), newKey(t), newKey(t)
	pub := key.PubKey().SerializeCompressed()
	onion := sasl.Endpoint{Host: "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion", Port: 6667}
	link := func(ep sasl.Endpoint, oldPub, newPub []byte) []byte {
		m, err := sasl.LinkMessage(ep, "thor1account", oldPub, newPub, bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ap, bp := a.PubKey().SerializeCompressed(), b.PubKey().SerializeCompressed()
	tests := []struct {
		name   string
		msg    []byte
		policy SignPolicy
		ok     bool
	}{
		{"as the old key", link(onion, pub, ap), SignPolicy{}, true},
		{"as the new key", link(onion, ap, pub), SignPolicy{}, true},
		{"host allowed", link(onion, pub, ap), SignPolicy{Hosts: []string{onion.Host}}, true},
		{"host not allowed", link(onion, pub, ap), SignPolicy{Hosts: []string{"x.onion"}}, false},
		{"other keys", link(onion, ap, bp), SignPolicy{}, false},
		{"truncated", link(onion, pub, ap)[:100], SignPolicy{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ServeSign("sign", strings.NewReader(hex.EncodeToString(tt.msg)), &out, key, tt.policy)
			if !tt.ok {
				if !errors.Is(err, ErrSignRefused) || out.Len() != 0 {
					t.Fatalf("ServeSign = %v, printed %q; want a refusal", err, out.String())
				}
				return
			}
			sig, derr := hex.DecodeString(strings.TrimSpace(out.String()))
			if err != nil || derr != nil {
				t.Fatalf("ServeSign = %v, %v", err, derr)
			}
			if err := sasl.Verify(pub, tt.msg, sig); err != nil {
				t.Fatalf("signature: %v", err)
			}
		})
	}
}
