package client

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/decred/dcrd/dcrec/secp256k1/v4"
	"github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"

	"github.com/thorchat/thorchat/identity"
	"github.com/thorchat/thorchat/sasl"
)

// Bounds of a sign command.
const (
	// DefaultSignTimeout bounds one run of the command.
	DefaultSignTimeout = 30 * time.Second
	// maxSignOutput bounds what the command may print on standard output.
	maxSignOutput = 4096
	// maxStderrTail is how much of its standard error an error quotes.
	maxStderrTail = 1024
)

// Environment variables a sign command sees (see the package doc).
const (
	EnvSign       = "THORCHAT_SIGN"        // "pubkey" or "sign"
	EnvSignDigest = "THORCHAT_SIGN_DIGEST" // hex SHA-256(M), when signing
	EnvSignPubKey = "THORCHAT_SIGN_PUBKEY" // hex compressed key, when signing
)

var errOutputTooLong = errors.New("printed more than 4096 bytes")

// CommandOptions configures a CommandSigner.
type CommandOptions struct {
	// Timeout bounds each run of the command (default DefaultSignTimeout).
	Timeout time.Duration
	// Stderr receives the command's standard error (a prompt, say); nil
	// keeps its last KiB to quote in errors.
	Stderr io.Writer
}

// CommandSigner is a sasl.Signer that runs an external command (-sign-cmd)
// for its public key and for each signature; the contract is in the
// package doc.
type CommandSigner struct {
	command string
	opts    CommandOptions
	pub     []byte
}

var _ ContextSigner = (*CommandSigner)(nil)

// NewCommandSigner runs command once with THORCHAT_SIGN=pubkey and returns
// a signer for the key it printed.
func NewCommandSigner(ctx context.Context, command string, opts CommandOptions) (*CommandSigner, error) {
	if strings.TrimSpace(command) == "" {
		return nil, fmt.Errorf("%w: sign command is empty", ErrConfig)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultSignTimeout
	}
	s := &CommandSigner{command: command, opts: opts}
	out, err := s.run(ctx, "pubkey", nil, nil)
	if err != nil {
		return nil, err
	}
	pub, err := parsePubKeyOutput(out)
	if err != nil {
		return nil, fmt.Errorf("sign command with %s=pubkey: %w", EnvSign, err)
	}
	s.pub = pub
	return s, nil
}

// PublicKey returns the 33-byte compressed key the command printed.
func (s *CommandSigner) PublicKey() []byte { return bytes.Clone(s.pub) }

// SignMessage is SignMessageContext with a background context.
func (s *CommandSigner) SignMessage(msg []byte) ([sasl.SigLen]byte, error) {
	return s.SignMessageContext(context.Background(), msg)
}

// SignMessageContext runs the command with THORCHAT_SIGN=sign and M in hex
// on its standard input, and returns its signature once it verifies.
func (s *CommandSigner) SignMessageContext(ctx context.Context, msg []byte) ([sasl.SigLen]byte, error) {
	var zero [sasl.SigLen]byte
	digest := sasl.Hash(msg)
	env := []string{
		EnvSignDigest + "=" + hex.EncodeToString(digest[:]),
		EnvSignPubKey + "=" + hex.EncodeToString(s.pub),
	}
	stdin := []byte(hex.EncodeToString(msg) + "\n")
	out, err := s.run(ctx, "sign", stdin, env)
	if err != nil {
		return zero, err
	}
	sig, err := parseSigOutput(out)
	if err != nil {
		return zero, fmt.Errorf("sign command with %s=sign: %w", EnvSign, err)
	}
	if err := sasl.Verify(s.pub, msg, sig[:]); err != nil {
		return zero, fmt.Errorf("sign command: its signature does not verify against its public key %x "+
			"(it must sign SHA-256 of the hex-decoded standard input with that key): %w", s.pub, err)
	}
	return sig, nil
}

// run executes the command in one mode and returns its standard output.
func (s *CommandSigner) run(ctx context.Context, mode string, stdin []byte, env []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", s.command)
	cmd.Env = append(os.Environ(), EnvSign+"="+mode)
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	stdout := &boundedBuffer{max: maxSignOutput}
	cmd.Stdout = stdout
	tail := &tailBuffer{max: maxStderrTail}
	cmd.Stderr = tail
	if s.opts.Stderr != nil {
		cmd.Stderr = s.opts.Stderr
	}
	// A killed sh may leave children holding the pipes: stop waiting.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	what := fmt.Sprintf("sign command with %s=%s", EnvSign, mode)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s: no answer within %s: %w", what, s.opts.Timeout, ctx.Err())
	case stdout.overflow:
		return nil, fmt.Errorf("%s: %w", what, errOutputTooLong)
	case err != nil:
		return nil, fmt.Errorf("%s: %w%s", what, err, tail.quote())
	}
	return stdout.buf.Bytes(), nil
}

// parsePubKeyOutput accepts a compressed (66 hex) or uncompressed (130
// hex) key, or a bech32 pubkey, and returns the compressed key.
func parsePubKeyOutput(out []byte) ([]byte, error) {
	s := stripSpace(out)
	if s == "" {
		return nil, errors.New("printed no public key")
	}
	b, herr := hex.DecodeString(s)
	if herr != nil {
		_, pub, err := identity.DecodePubKey(s)
		if err != nil {
			return nil, fmt.Errorf("printed neither a hex public key nor a bech32 one: %w", err)
		}
		return pub, nil
	}
	switch len(b) {
	case sasl.PubKeyLen:
		if _, err := sasl.ParsePubKey(b); err != nil {
			return nil, fmt.Errorf("printed public key: %w", err)
		}
		return b, nil
	case 65:
		pk, err := secp256k1.ParsePubKey(b)
		if err != nil {
			return nil, fmt.Errorf("printed public key: %w", err)
		}
		return pk.SerializeCompressed(), nil
	}
	return nil, fmt.Errorf("printed a %d-byte public key, want 33 (compressed) or 65", len(b))
}

// parseSigOutput accepts r ‖ s (128 hex) or a DER signature in hex and
// returns r ‖ s with a low S.
func parseSigOutput(out []byte) ([sasl.SigLen]byte, error) {
	var sig [sasl.SigLen]byte
	b, err := hex.DecodeString(stripSpace(out))
	if err != nil {
		return sig, errors.New("printed no hex signature")
	}
	var r, s secp256k1.ModNScalar
	switch {
	case len(b) == sasl.SigLen:
		if r.SetByteSlice(b[:32]) || s.SetByteSlice(b[32:]) {
			return sig, errors.New("printed a signature with r or s out of range")
		}
	case len(b) > 0 && b[0] == 0x30:
		d, err := ecdsa.ParseDERSignature(b)
		if err != nil {
			return sig, fmt.Errorf("printed a bad DER signature: %w", err)
		}
		r, s = d.R(), d.S()
	default:
		return sig, fmt.Errorf("printed a %d-byte signature, want 64 (r ‖ s) or DER", len(b))
	}
	if s.IsOverHalfOrder() {
		s.Negate()
	}
	r.PutBytesUnchecked(sig[:32])
	s.PutBytesUnchecked(sig[32:])
	return sig, nil
}

// stripSpace removes all ASCII white space.
func stripSpace(b []byte) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\v', '\f':
			return -1
		}
		return r
	}, string(b))
}

// boundedBuffer keeps up to max bytes and fails the write past that.
type boundedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		b.overflow = true
		return 0, errOutputTooLong
	}
	return b.buf.Write(p)
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > t.max {
		p = p[len(p)-t.max:]
	}
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return n, nil
}

// quote returns ": <stderr tail>" for an error, or "".
func (t *tailBuffer) quote() string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "?"))
	if s == "" {
		return ""
	}
	return ": " + s
}
