package client

import (
	"context"
	"fmt"
	"strings"

	"gopkg.in/irc.v4"
)

// Device credentials let stock clients log in without the account's key:
// a P-256 device key (SASL ECDSA-NIST256P-CHALLENGE) or a token (SASL
// PLAIN, the account as user name). They are managed through NickServ by a
// connection logged in with the account's own key (THORCHAT-SECP256K1);
// the methods below send one NickServ command each and wait for its
// answer.

// maxCredentialLines bounds the CREDENTIAL lines ListCredentials keeps
// (the server allows 20 per account).
const maxCredentialLines = 64

// NickServError is a credential command NickServ refused; Text is its
// answer ("DEVICE ADD failed: …", "Log in with your account's own key …").
type NickServError struct {
	Command string
	Text    string
}

func (e *NickServError) Error() string {
	return fmt.Sprintf("NickServ %s: %s", e.Command, e.Text)
}

// Credential is one line of NickServ LIST.
type Credential struct {
	Label string
	Kind  string // "device" or "token"
	// Key is a device's public key (base64 of the compressed point).
	Key string
	// Info is the rest of the line: "created …[, expires …|, expired]".
	Info string
}

// AddDevice enrols a P-256 device public key (base64 or hex of the point,
// as DevicePublicKey returns it) under label. ttl ("30d", "12h") limits
// its life; "" means no expiry.
func (c *Conn) AddDevice(ctx context.Context, label, pubkey, ttl string) error {
	cmd := "DEVICE ADD " + label + " " + pubkey
	if ttl != "" {
		cmd += " " + ttl
	}
	return c.nickServ(ctx, "DEVICE ADD", cmd, func(text string) (bool, error) {
		if strings.HasPrefix(text, "Device key "+label+" added") {
			return true, nil
		}
		return true, &NickServError{Command: "DEVICE ADD", Text: clip(text)}
	}, label, pubkey, ttl)
}

// NewToken mints a PLAIN token under label and returns it ("thc_…"). The
// server keeps only a hash: this is the one time it is shown.
func (c *Conn) NewToken(ctx context.Context, label, ttl string) (string, error) {
	cmd := "TOKEN NEW " + label
	if ttl != "" {
		cmd += " " + ttl
	}
	var token string
	err := c.nickServ(ctx, "TOKEN NEW", cmd, func(text string) (bool, error) {
		if rest, ok := strings.CutPrefix(text, "TOKEN "+label+" "); ok && token == "" {
			token = strings.TrimSpace(rest)
			return false, nil // the explanation follows
		}
		if token != "" {
			return true, nil
		}
		return true, &NickServError{Command: "TOKEN NEW", Text: clip(text)}
	}, label, ttl)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(token, "thc_") || strings.ContainsAny(token, " \t") {
		return "", &NickServError{Command: "TOKEN NEW", Text: "unexpected answer (no thc_ token)"}
	}
	return token, nil
}

// ListCredentials returns the account's credentials.
func (c *Conn) ListCredentials(ctx context.Context) ([]Credential, error) {
	var out []Credential
	err := c.nickServ(ctx, "LIST", "LIST", func(text string) (bool, error) {
		if rest, ok := strings.CutPrefix(text, "CREDENTIAL "); ok {
			if len(out) < maxCredentialLines {
				out = append(out, parseCredential(rest))
			}
			return false, nil
		}
		if strings.HasPrefix(text, "End of credentials") {
			return true, nil
		}
		return true, &NickServError{Command: "LIST", Text: clip(text)}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// parseCredential reads "<label> <kind> created …[, key <base64>]".
func parseCredential(s string) Credential {
	var cr Credential
	f := strings.SplitN(s, " ", 3)
	cr.Label = f[0]
	if len(f) > 1 {
		cr.Kind = f[1]
	}
	if len(f) > 2 {
		cr.Info = f[2]
	}
	if i := strings.LastIndex(cr.Info, ", key "); i >= 0 {
		cr.Key = cr.Info[i+len(", key "):]
		cr.Info = cr.Info[:i]
	}
	return cr
}

// RevokeCredential deletes the credential under label.
func (c *Conn) RevokeCredential(ctx context.Context, label string) error {
	return c.nickServ(ctx, "REVOKE", "REVOKE "+label, func(text string) (bool, error) {
		if text == "Credential "+label+" revoked." {
			return true, nil
		}
		return true, &NickServError{Command: "REVOKE", Text: clip(text)}
	}, label)
}

// nickServ sends text to NickServ and hands each NOTICE NickServ sends
// back to handle until it reports done. Other messages are discarded, so
// call it before joining channels. The wait is bounded by ctx and by the
// Config's Timeout; when either ends first the connection is closed. args
// are checked to be single words.
func (c *Conn) nickServ(ctx context.Context, name, text string, handle func(string) (bool, error), args ...string) error {
	for _, a := range args {
		if strings.ContainsAny(a, " \t\r\n\x00") {
			return fmt.Errorf("NickServ %s: argument %q: %w", name, clip(a), ErrBadParam)
		}
	}
	if name != "LIST" && (len(args) == 0 || args[0] == "") {
		return fmt.Errorf("NickServ %s: empty label: %w", name, ErrBadParam)
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.Timeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if err := c.Privmsg("NickServ", text); err != nil {
		return fmt.Errorf("NickServ %s: %w", name, err)
	}
	for {
		m, err := c.ReadMessage()
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return fmt.Errorf("NickServ %s: no answer: %w", name, cerr)
			}
			return fmt.Errorf("NickServ %s: %w", name, err)
		}
		switch {
		case m.Command == "ERROR":
			return fmt.Errorf("NickServ %s: %w", name, &ServerError{Code: "ERROR", Text: clip(m.Trailing())})
		case m.Command == "401" && strings.EqualFold(m.Param(1), "NickServ"):
			return fmt.Errorf("NickServ %s: %w", name, &ServerError{Code: "401", Text: "this server has no NickServ"})
		case isNickServNotice(c, m):
			done, err := handle(m.Trailing())
			if err != nil || done {
				return err
			}
		}
	}
}

// isNickServNotice reports whether m is a NOTICE from NickServ to us.
func isNickServNotice(c *Conn, m *irc.Message) bool {
	return m.Command == "NOTICE" && m.Prefix != nil && strings.EqualFold(m.Prefix.Name, "NickServ") &&
		foldNick(m.Param(0)) == foldNick(c.Nick())
}
