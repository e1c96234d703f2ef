package ircd

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/irc.v4"
)

// IRCv3 draft/multiline: a client with the cap sends
//
//	BATCH +ref draft/multiline <target>
//	@batch=ref PRIVMSG <target> :line        (draft/multiline-concat: no line feed before it)
//	BATCH -ref
//
// and the server relays it as one message when the batch closes:
// draft/multiline clients get it as a batch, the others as its separate
// lines (blank lines left out, the message ID on the first). Limits
// (Limits.MultilineMaxBytes, MultilineMaxLines) are in the cap value and
// in 005 (MULTILINE=max-bytes=…,max-lines=…). A violation ends the batch
// with "FAIL BATCH <code> …" (MULTILINE_MAX_BYTES, MULTILINE_MAX_LINES,
// MULTILINE_INVALID_TARGET, MULTILINE_INVALID) and the rest of that
// batch's lines are ignored; a batch left open for MultilineTimeout (while
// the client has no input waiting) ends with "FAIL BATCH TIMEOUT <ref>"
// (client-batch). Each line is a command for the flood throttle. A client
// has at most one batch open, holding at most max-bytes of text.

// mlLine is one line of a multiline message.
type mlLine struct {
	text   string
	concat bool // joined to the previous line without a line feed
}

// mlBatch is a client's open multiline batch.
type mlBatch struct {
	ref     string
	target  string
	label   string // label of the opening BATCH, for the response
	ctags   string // client-only tags of the opening BATCH
	lines   []mlLine
	bytes   int // combined size, line feeds included
	started time.Time
}

const (
	multilineType   = "draft/multiline"
	multilineConcat = "draft/multiline-concat"
	maxBatchRefLen  = 64
)

// multilineLimits is the cap value and the 005 MULTILINE value.
func (s *Server) multilineLimits() string {
	return "max-bytes=" + strconv.Itoa(s.lim.MultilineMaxBytes) + ",max-lines=" + strconv.Itoa(s.lim.MultilineMaxLines)
}

// validBatchRef: letters, digits and hyphens (batch).
func validBatchRef(ref string) bool {
	if ref == "" || len(ref) > maxBatchRefLen {
		return false
	}
	for i := 0; i < len(ref); i++ {
		b := ref[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-') {
			return false
		}
	}
	return true
}

// handleBatch is BATCH from a client with no batch open: "+ref
// draft/multiline target" opens one; "-ref" of a batch that was refused
// is ignored.
func (s *Server) handleBatch(c *Client, m *irc.Message) {
	p := m.Params[0]
	if !c.caps.has(capMultiline) {
		s.batchFail(c, "MULTILINE_INVALID", "Client batches need the draft/multiline capability")
		return
	}
	if len(p) < 2 || (p[0] != '+' && p[0] != '-') || !validBatchRef(p[1:]) {
		s.batchFail(c, "MULTILINE_INVALID", "Invalid batch reference")
		return
	}
	ref := p[1:]
	if p[0] == '-' {
		if ref == c.mlDead {
			c.mlDead = ""
			return
		}
		s.batchFail(c, "MULTILINE_INVALID", "No such batch is open")
		return
	}
	c.mlDead = ref // until it opens: whatever else happens, its lines are ignored
	if len(m.Params) < 2 || m.Params[1] != multilineType {
		s.batchFail(c, "MULTILINE_INVALID", "Unsupported batch type")
		return
	}
	if len(m.Params) < 3 || m.Params[2] == "" || strings.IndexByte(m.Params[2], ',') >= 0 {
		s.batchFail(c, "MULTILINE_INVALID", "A multiline batch needs one target")
		return
	}
	if _, tagged := m.Tags["batch"]; tagged {
		s.batchFail(c, "MULTILINE_INVALID", "Batches may not be nested")
		return
	}
	c.mlDead = ""
	c.ml = &mlBatch{
		ref:     ref,
		target:  strings.Clone(m.Params[2]),
		label:   s.takeLabel(c),
		ctags:   s.clientTags(m),
		started: s.clock.Now(),
	}
}

// multilineIntercept sees each line of a draft/multiline client before it
// is dispatched; it reports whether it took the line. With no batch open
// it only takes lines tagged for a batch (one refused or timed out: they
// are ignored). With a batch open it takes the batch's lines and its end;
// any other command ends the batch as invalid and is then handled as
// usual, except PING and PONG, which pass.
func (s *Server) multilineIntercept(c *Client, m *irc.Message) bool {
	ref, tagged := m.Tags["batch"]
	ml := c.ml
	if ml == nil {
		if !tagged {
			return false
		}
		if ref != c.mlDead {
			s.batchFail(c, "MULTILINE_INVALID", "No such batch is open")
		}
		s.takeLabel(c)
		return true
	}
	if m.Command == "BATCH" {
		if !tagged && len(m.Params) == 1 && m.Params[0] == "-"+ml.ref {
			s.multilineEnd(c)
			return true
		}
		s.multilineAbort(c, "MULTILINE_INVALID", "Invalid multiline batch")
		if len(m.Params) > 0 && strings.HasPrefix(m.Params[0], "+") {
			c.mlDead = m.Params[0][1:] // a second batch: ignore its lines instead
		}
		return true
	}
	if !tagged {
		if m.Command == "PING" || m.Command == "PONG" {
			return false
		}
		s.multilineAbort(c, "MULTILINE_INVALID", "Invalid multiline batch")
		return false
	}
	s.takeLabel(c) // lines of a batch carry no label; the batch has it
	if ref != ml.ref || m.Command != "PRIVMSG" || len(m.Params) < 1 {
		s.multilineAbort(c, "MULTILINE_INVALID", "Invalid multiline batch")
		return true
	}
	if Fold(m.Params[0]) != Fold(ml.target) {
		s.multilineAbort(c, "MULTILINE_INVALID_TARGET", ml.target, m.Params[0], "Invalid multiline target")
		return true
	}
	text := ""
	if len(m.Params) > 1 {
		text = m.Params[1]
	}
	_, concat := m.Tags[multilineConcat]
	if concat && text == "" {
		s.multilineAbort(c, "MULTILINE_INVALID", "A concatenated line may not be blank")
		return true
	}
	if len(ml.lines) >= s.lim.MultilineMaxLines {
		s.multilineAbort(c, "MULTILINE_MAX_LINES", strconv.Itoa(s.lim.MultilineMaxLines), "Multiline batch max-lines exceeded")
		return true
	}
	n := len(text)
	if len(ml.lines) > 0 && !concat {
		n++ // the line feed that joins it
	}
	if ml.bytes+n > s.lim.MultilineMaxBytes {
		s.multilineAbort(c, "MULTILINE_MAX_BYTES", strconv.Itoa(s.lim.MultilineMaxBytes), "Multiline batch max-bytes exceeded")
		return true
	}
	ml.bytes += n
	ml.lines = append(ml.lines, mlLine{text: strings.Clone(text), concat: concat})
	return true
}

// multilineEnd closes c's batch and relays it as one message.
func (s *Server) multilineEnd(c *Client) {
	ml := c.ml
	c.ml = nil
	s.resumeLabel(c, ml.label)
	var b strings.Builder
	b.Grow(ml.bytes)
	blank := true
	for i, l := range ml.lines {
		if i > 0 && !l.concat {
			b.WriteByte('\n')
		}
		b.WriteString(l.text)
		if l.text != "" {
			blank = false
		}
	}
	if blank {
		s.batchFail(c, "MULTILINE_INVALID", "A multiline message may not be empty")
		return
	}
	if isServiceNick(Fold(ml.target)) {
		s.batchFail(c, "MULTILINE_INVALID_TARGET", ml.target, ml.target, "Services take single lines")
		return
	}
	first := ""
	for _, l := range ml.lines {
		if l.text != "" {
			first = l.text
			break
		}
	}
	c.lastActive = s.clock.Now()
	d := s.route(c, "PRIVMSG", ml.target, first)
	if d == nil {
		return
	}
	d.text, d.lines, d.ctags = b.String(), ml.lines, ml.ctags
	s.stamp(d)
	s.send(c, d)
}

// multilineAbort ends c's open batch with FAIL BATCH code params…; the
// rest of its lines are ignored. The failure answers the batch's label.
func (s *Server) multilineAbort(c *Client, code string, params ...string) {
	ml := c.ml
	c.ml = nil
	c.mlDead = ml.ref
	if c.label == nil {
		s.resumeLabel(c, ml.label)
	}
	s.batchFail(c, code, params...)
}

// multilineExpire ends a batch left open too long (sweep). A client whose
// lines wait (fake lag, an async step) is not the one keeping it open.
func (s *Server) multilineExpire(c *Client, now time.Time) {
	if c.pending != nil || now.Sub(c.ml.started) < s.lim.MultilineTimeout {
		return
	}
	ref := c.ml.ref
	c.ml = nil
	c.mlDead = ref
	s.batchFail(c, "TIMEOUT", ref, "Multiline batch timed out")
}

// batchFail sends "FAIL BATCH code params… :text"; the last of params is
// the text.
func (s *Server) batchFail(c *Client, code string, params ...string) {
	c.send(lineTrail(s.name, "FAIL", append([]string{"BATCH", code}, params...)...))
}

// mlOut is a multiline message serialized once for all its recipients.
type mlOut struct {
	open  *outMsg  // "BATCH +ref draft/multiline target" with the message's tags
	lines [][]byte // "@batch=ref[;draft/multiline-concat] :prefix PRIVMSG target :text"
	close []byte
	plain []*outMsg // the fallback: non-blank lines, the first with the message ID
}

func (s *Server) multilineMsg(c *Client, d *delivery) *mlOut {
	prefix := c.prefix()
	ref := s.newBatchRef()
	o := &mlOut{
		open: &outMsg{
			at: d.at, account: c.account, clientTags: d.ctags, msgid: d.msgid, hasID: true,
			body: buildLine(prefix, "BATCH", []string{"+" + ref, multilineType, d.target}, false),
		},
		close: batchLine(s.name, "", ref, false),
	}
	for _, l := range d.lines {
		body := buildLine(prefix, "PRIVMSG", []string{d.target, s.fitText(prefix, "PRIVMSG", d.target, l.text)}, true)
		tagged := withBatchTag(body, ref)
		if l.concat {
			tagged = withTag(tagged, multilineConcat, "")
		}
		o.lines = append(o.lines, tagged)
		if l.text == "" {
			continue // never a blank line to a client without the cap
		}
		p := &outMsg{at: d.at, account: c.account, body: body}
		if len(o.plain) == 0 {
			p.msgid, p.hasID, p.clientTags = d.msgid, true, d.ctags
		}
		o.plain = append(o.plain, p)
	}
	return o
}

// sendTo sends the message to r in the form r understands.
func (o *mlOut) sendTo(r *Client) {
	if r.caps&(capMultiline|capBatch) != capMultiline|capBatch {
		for _, p := range o.plain {
			r.sendMsg(p)
		}
		return
	}
	r.sendMsg(o.open)
	for _, l := range o.lines {
		r.send(l)
	}
	r.send(o.close)
}
