package client

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/thorchat/thorchat/sasl"
)

// Linked keys: a connection logged in with one of an account's keys (its
// Config.Signer) links a further key to the account, so that a login with
// either lands in it (NickServ KEY LINK, docs/sasl.md). The link message
// binds the endpoint the connection's login bound, the account, both keys
// and a nonce the server just sent; both keys sign it.

// maxKeyLines bounds the KEY lines ListKeys keeps (the server allows 8).
const maxKeyLines = 64

// LinkKey links the key of newKey to the account this connection is
// logged in to, signing the server's challenge with the connection's
// signer and with newKey. It returns the linked key as the server shows it
// ("thorpub1…").
func (c *Conn) LinkKey(ctx context.Context, newKey sasl.Signer) (string, error) {
	old := c.s.Signer
	if old == nil || c.s.mech != sasl.MechSecp256k1 || c.Account() == "" {
		return "", errors.New("KEY LINK: the connection must be logged in with a key (THORCHAT-SECP256K1)")
	}
	newPub := newKey.PublicKey()
	var display, nonceText string
	err := c.nickServ(ctx, "KEY LINK", "KEY LINK "+hex.EncodeToString(newPub), func(text string) (bool, error) {
		if rest, ok := strings.CutPrefix(text, "KEY LINK CHALLENGE "); ok && display == "" {
			f := strings.Fields(rest)
			if len(f) != 2 {
				return true, &NickServError{Command: "KEY LINK", Text: clip(text)}
			}
			display, nonceText = f[0], f[1]
			return false, nil // the explanation follows
		}
		if display != "" {
			return true, nil
		}
		return true, &NickServError{Command: "KEY LINK", Text: clip(text)}
	}, "link")
	if err != nil {
		return "", err
	}
	nonce, err := base64.StdEncoding.DecodeString(nonceText)
	if err != nil {
		return "", &NickServError{Command: "KEY LINK", Text: "the challenge nonce is not base64"}
	}
	msg, err := sasl.LinkMessage(c.s.ep, c.Account(), old.PublicKey(), newPub, nonce)
	if err != nil {
		return "", fmt.Errorf("KEY LINK: %w", err)
	}
	sigOld, err := old.SignMessage(msg)
	if err != nil {
		return "", fmt.Errorf("KEY LINK: old key: %w", err)
	}
	sigNew, err := newKey.SignMessage(msg)
	if err != nil {
		return "", fmt.Errorf("KEY LINK: new key: %w", err)
	}
	cmd := "KEY LINK " + display + " " + base64.StdEncoding.EncodeToString(sigOld[:]) + " " + base64.StdEncoding.EncodeToString(sigNew[:])
	err = c.nickServ(ctx, "KEY LINK", cmd, func(text string) (bool, error) {
		if strings.HasPrefix(text, "Key "+display+" is linked") {
			return true, nil
		}
		return true, &NickServError{Command: "KEY LINK", Text: clip(text)}
	}, display)
	return display, err
}

// ListKeys returns NickServ's KEY LIST lines: "thorpub1… added DATE", with
// " (this session)" on the key this connection logged in with.
func (c *Conn) ListKeys(ctx context.Context) ([]string, error) {
	var out []string
	err := c.nickServ(ctx, "KEY LIST", "KEY LIST", func(text string) (bool, error) {
		if rest, ok := strings.CutPrefix(text, "KEY "); ok && !strings.HasPrefix(rest, "LIST failed") {
			if len(out) < maxKeyLines {
				out = append(out, rest)
			}
			return false, nil
		}
		if strings.HasPrefix(text, "End of keys") {
			return true, nil
		}
		return true, &NickServError{Command: "KEY LIST", Text: clip(text)}
	}, "list")
	return out, err
}

// UnlinkKey removes key ("thorpub1…" or hex) from the account; with
// revoke, all the account's device credentials are revoked too (for a key
// that was compromised). The connection must be logged in with another key
// of the account.
func (c *Conn) UnlinkKey(ctx context.Context, key string, revoke bool) error {
	cmd := "KEY UNLINK " + key
	if revoke {
		cmd += " REVOKE"
	}
	return c.nickServ(ctx, "KEY UNLINK", cmd, func(text string) (bool, error) {
		if strings.HasPrefix(text, "Key "+key+" is unlinked") {
			return true, nil
		}
		return true, &NickServError{Command: "KEY UNLINK", Text: clip(text)}
	}, key)
}
