package ircd

import (
	"strings"
	"time"
)

// appendParams appends " p1 p2 :last" to b. The last parameter gets a
// colon when it needs one or when forceTrailing is set (numerics' text).
// A middle parameter that cannot be written as one (empty, starting with
// ':' or holding a space, e.g. a client's bad argument echoed in a
// numeric) is sent as "*" so the line keeps its shape.
func appendParams(b []byte, params []string, forceTrailing bool) []byte {
	for i, p := range params {
		b = append(b, ' ')
		if i == len(params)-1 {
			if forceTrailing || p == "" || p[0] == ':' || strings.IndexByte(p, ' ') >= 0 {
				b = append(b, ':')
			}
		} else if p == "" || p[0] == ':' || strings.IndexByte(p, ' ') >= 0 {
			p = "*"
		}
		b = append(b, p...)
	}
	return b
}

// line builds ":prefix CMD params\r\n".
func line(prefix, cmd string, params ...string) []byte {
	return buildLine(prefix, cmd, params, false)
}

// lineTrail is line with the last parameter always written as trailing.
func lineTrail(prefix, cmd string, params ...string) []byte {
	return buildLine(prefix, cmd, params, true)
}

func buildLine(prefix, cmd string, params []string, trail bool) []byte {
	n := len(prefix) + len(cmd) + 6
	for _, p := range params {
		n += len(p) + 2
	}
	b := make([]byte, 0, n)
	if prefix != "" {
		b = append(b, ':')
		b = append(b, prefix...)
		b = append(b, ' ')
	}
	b = append(b, cmd...)
	b = appendParams(b, params, trail)
	return append(b, '\r', '\n')
}

// Capability bits that change how a relayed message is serialized.
const (
	tagServerTime  = 1 << iota
	tagMessageTags // msgid and client-only tags
	tagAccount
	tagVariants = 1 << iota
)

// outMsg is one message fanned out to many clients. Its bytes are built
// once per tag variant and shared by every recipient's send queue.
type outMsg struct {
	at         time.Time
	account    string // sender's account, for account-tag
	clientTags string // "+a=b;+c", relayed only to message-tags clients
	msgid      [msgIDLen]byte
	hasID      bool   // msgid is set (PRIVMSG, NOTICE, TAGMSG): message-tags clients get it
	body       []byte // ":prefix CMD params\r\n"
	variants   [tagVariants][]byte
}

func newOutMsg(at time.Time, body []byte) *outMsg {
	return &outMsg{at: at, body: body}
}

// bytesFor returns the serialization for a client with the given caps.
func (m *outMsg) bytesFor(caps capSet) []byte {
	v := 0
	if caps.has(capServerTime) {
		v |= tagServerTime
	}
	if caps.has(capMessageTags) && (m.hasID || m.clientTags != "") {
		v |= tagMessageTags
	}
	if caps.has(capAccountTag) && m.account != "" {
		v |= tagAccount
	}
	if v == 0 {
		return m.body
	}
	if b := m.variants[v]; b != nil {
		return b
	}
	b := make([]byte, 0, len(m.body)+96+len(m.clientTags))
	b = append(b, '@')
	sep := false
	if v&tagServerTime != 0 {
		b = append(b, "time="...)
		b = m.at.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		sep = true
	}
	if v&tagAccount != 0 {
		if sep {
			b = append(b, ';')
		}
		b = append(b, "account="...)
		b = append(b, m.account...)
		sep = true
	}
	if v&tagMessageTags != 0 {
		// server tags go before client-only tags (message-tags)
		if m.hasID {
			if sep {
				b = append(b, ';')
			}
			b = append(b, "msgid="...)
			b = append(b, m.msgid[:]...)
			sep = true
		}
		if m.clientTags != "" {
			if sep {
				b = append(b, ';')
			}
			b = append(b, m.clientTags...)
		}
	}
	b = append(b, ' ')
	b = append(b, m.body...)
	m.variants[v] = b
	return b
}
