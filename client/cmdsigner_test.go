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

func TestCommandSignerContract(t *testing.T) {
	key := newKey(t)
	pub := key.PubKey().SerializeCompressed()
	msg := []byte("THORCHAT-SECP256K1/1 test message")
	tests := []struct {
		mode    string
		newErr  string // NewCommandSigner fails saying this
		signErr string // SignMessage fails saying this
	}{
		{mode: "good"},
		{mode: "der-high"},
		{mode: "raw-high"},
		{mode: "bech32"},
		{mode: "pubfail", newErr: "no device"},
		{mode: "wrongkey", signErr: "does not verify"},
		{mode: "garbage", signErr: "no hex signature"},
		{mode: "fail", signErr: "exit status 3: device locked"},
		{mode: "flood", signErr: "printed more than 4096 bytes"},
		{mode: "nosuchmode", signErr: "unknown mode"},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			s, err := NewCommandSigner(context.Background(), signCmd(t, tc.mode, key), CommandOptions{Timeout: 20 * time.Second})
			if tc.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.newErr) {
					t.Fatalf("NewCommandSigner err = %v, want %q", err, tc.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(s.PublicKey(), pub) {
				t.Fatalf("public key %x, want %x", s.PublicKey(), pub)
			}
			sig, err := s.SignMessage(msg)
			if tc.signErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.signErr) {
					t.Fatalf("SignMessage err = %v, want %q", err, tc.signErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := sasl.Verify(pub, msg, sig[:]); err != nil {
				t.Fatalf("signature does not verify: %v", err)
			}
		})
	}
}

func TestCommandSignerTimeout(t *testing.T) {
	key := newKey(t)
	s, err := NewCommandSigner(context.Background(), signCmd(t, "hang", key), CommandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.SignMessageContext(ctx, []byte("m"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("took %s", d)
	}
}

func TestCommandSignerStderrAndShell(t *testing.T) {
	// A plain shell signer: stderr goes to the writer, the pubkey comes
	// from a shell variable, and signing fails with the prompt shown.
	key := newKey(t)
	pubHex := hex.EncodeToString(key.PubKey().SerializeCompressed())
	cmd := `if [ "$THORCHAT_SIGN" = pubkey ]; then echo ` + pubHex + `; else echo "touch the device" >&2; exit 1; fi`
	var stderr bytes.Buffer
	s, err := NewCommandSigner(context.Background(), cmd, CommandOptions{Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SignMessage([]byte("m"))
	if err == nil || strings.Contains(err.Error(), "touch the device") {
		t.Fatalf("err = %v, want an exit error without the stderr quoted", err)
	}
	if !strings.Contains(stderr.String(), "touch the device") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

func TestParseSigOutput(t *testing.T) {
	tests := []struct {
		name, out string
		ok        bool
	}{
		{"empty", "", false},
		{"odd hex", "abc", false},
		{"short", strings.Repeat("01", 63), false},
		{"r overflow", strings.Repeat("ff", 64), false},
		{"bad DER", "3006020101020101ff", false},
		{"raw", strings.Repeat("01", 64), true},
		{"raw with spaces", strings.Repeat("01 ", 64), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseSigOutput([]byte(tc.out))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	for _, s := range []string{"hello ", "world", "0123456789abc"} {
		tb.Write([]byte(s))
	}
	if string(tb.buf) != "56789abc" {
		t.Fatalf("tail %q, want the last 8 bytes", tb.buf)
	}
}
