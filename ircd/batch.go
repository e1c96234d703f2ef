package ircd

import (
	"bytes"
	"strconv"
)

// IRCv3 batch: the server groups related messages between
// "BATCH +ref type params…" and "BATCH -ref", each grouped message tagged
// "batch=ref". Reference tags are unique for the server's lifetime, so one
// reference can be shared by every recipient of a fan-out. A batch may be
// nested in another: its BATCH lines then carry the outer batch's tag.
// Clients without the batch cap get the grouped messages without any of
// this (callers check capBatch, or use startBatch, which does).

// newBatchRef returns a new batch reference tag: letters and digits only,
// as the batch specification requires.
func (s *Server) newBatchRef() string {
	s.batchSeq++
	return strconv.FormatUint(s.batchSeq, 36)
}

// batchLine builds "@tags :server BATCH +ref type params…" (open) or
// "@tags :server BATCH -ref" (params nil, open false). tags, without the
// '@', may be empty.
func batchLine(server, tags, ref string, open bool, params ...string) []byte {
	sign := "-"
	if open {
		sign = "+"
	}
	b := buildLine(server, "BATCH", append([]string{sign + ref}, params...), false)
	if tags == "" {
		return b
	}
	return append(append(append([]byte{'@'}, tags...), ' '), b...)
}

// outBatch is a batch being sent to one client; a nil *outBatch (the
// client has no batch cap) sends the messages untagged.
type outBatch struct {
	s   *Server
	c   *Client
	ref string
}

// startBatch opens a batch of type typ for c, nested in outer when outer
// is not nil. It returns nil, and sends nothing, when c has not
// negotiated batch: b.send and b.end work on nil and then send the
// messages as they are.
func (s *Server) startBatch(c *Client, outer *outBatch, typ string, params ...string) *outBatch {
	if !c.caps.has(capBatch) {
		return nil
	}
	b := &outBatch{s: s, c: c, ref: s.newBatchRef()}
	open := batchLine(s.name, "", b.ref, true, append([]string{typ}, params...)...)
	outer.sendTo(c, open)
	return b
}

// send queues one message line (with or without tags) in the batch.
func (b *outBatch) send(line []byte) {
	if b == nil {
		return
	}
	b.c.send(withBatchTag(line, b.ref))
}

// sendTo is send for a client that may have no batch: it sends line to c
// as it is when b is nil.
func (b *outBatch) sendTo(c *Client, line []byte) {
	if b == nil {
		c.send(line)
		return
	}
	b.send(line)
}

// end closes the batch (inside outer when it was nested).
func (b *outBatch) end(outer *outBatch) {
	if b == nil {
		return
	}
	outer.sendTo(b.c, batchLine(b.s.name, "", b.ref, false))
}

// withBatchTag returns line with the tag "batch=ref" added first; line is
// not modified (it may be shared by other recipients).
func withBatchTag(line []byte, ref string) []byte {
	return withTag(line, "batch", ref)
}

// withTag returns a copy of line with key=value added as its first tag
// (value must already be escaped; "" adds a bare key).
func withTag(line []byte, key, value string) []byte {
	n := len(line) + len(key) + len(value) + 3
	out := make([]byte, 0, n)
	out = append(out, '@')
	out = append(out, key...)
	if value != "" {
		out = append(out, '=')
		out = append(out, value...)
	}
	if len(line) > 0 && line[0] == '@' {
		out = append(out, ';')
		return append(out, line[1:]...)
	}
	out = append(out, ' ')
	return append(out, line...)
}

// lineBatchRef returns the value of the batch tag of a serialized line,
// or "" when it has none.
func lineBatchRef(line []byte) string {
	if len(line) == 0 || line[0] != '@' {
		return ""
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return ""
	}
	tags := line[1:sp]
	for len(tags) > 0 {
		t := tags
		if i := bytes.IndexByte(tags, ';'); i >= 0 {
			t, tags = tags[:i], tags[i+1:]
		} else {
			tags = nil
		}
		if bytes.HasPrefix(t, []byte("batch=")) {
			return string(t[len("batch="):])
		}
	}
	return ""
}

// lineVerb returns the command word of a serialized line and its first
// parameter (for BATCH: "+ref" or "-ref").
func lineVerb(line []byte) (cmd, first string) {
	rest := line
	if len(rest) > 0 && rest[0] == '@' {
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			rest = rest[sp+1:]
		}
	}
	if len(rest) > 0 && rest[0] == ':' {
		if sp := bytes.IndexByte(rest, ' '); sp >= 0 {
			rest = rest[sp+1:]
		}
	}
	rest = bytes.TrimRight(rest, "\r\n")
	fields := bytes.SplitN(rest, []byte{' '}, 3)
	if len(fields) > 0 {
		cmd = string(fields[0])
	}
	if len(fields) > 1 {
		first = string(fields[1])
	}
	return cmd, first
}
