package ircd

import (
	"bytes"

	"gopkg.in/irc.v4"
)

// IRCv3 labeled-response: a command a client sends with a "label" tag gets
// its whole response labeled. While such a command runs, everything the
// server sends to that client is captured (labelCapture, in c.send), and
// when the command is done the capture is sent as one logical response:
//
//   - nothing: "@label=x :server ACK";
//   - one line: that line with the label tag added;
//   - one batch and nothing else (a multiline echo, a chathistory
//     result): the label on the opening BATCH line;
//   - anything else: a "labeled-response" batch with the label on its
//     opening line; lines that already belong to a batch of their own
//     keep it, so inner batches nest.
//
// Unlabeled commands pay one nil check in c.send and one branch in
// handleLine. Labels are honoured only for clients that negotiated both
// labeled-response and batch (the specification requires batch). A label
// longer than 64 bytes (the specification's maximum) is ignored: the
// response goes out unlabeled.
//
// A command that waits for an async step (a store commit, a SASL check)
// keeps capturing until the client's input resumes, and everything sent
// to the client meanwhile is part of the response; the capture is bounded
// by the client's SendQ like its queue.

// labelCaps are the caps a client needs for its labels to be honoured.
const labelCaps = capLabeledResponse | capBatch

// maxLabelLen is the longest label value (labeled-response).
const maxLabelLen = 64

// labelCapture is the response to one labeled command, collected.
type labelCapture struct {
	label string // tag value, escaped
	lines [][]byte
	bytes int
	busy  int // c.busy when the command started: more afterwards means it waits for an async step
	// lanes counts the command's messages still in the history lane: their
	// echoes belong to the response, which is sent (parked) once the last
	// of them has been relayed (history.go, send)
	lanes  int
	parked bool
}

// beginLabel starts capturing c's response when m carries a label.
func (s *Server) beginLabel(c *Client, m *irc.Message) {
	v, ok := m.Tags["label"]
	if !ok || v == "" {
		return
	}
	if enc := irc.EncodeTagValue(v); len(enc) <= maxLabelLen {
		c.label = &labelCapture{label: enc, busy: c.busy}
	}
}

// takeLabel ends the capture without sending anything and returns the
// label, for a command whose response comes later (a multiline batch is
// answered when it closes). It returns "" when there is no label.
func (s *Server) takeLabel(c *Client) string {
	lc := c.label
	if lc == nil {
		return ""
	}
	c.label = nil
	for _, l := range lc.lines { // nothing is expected; never lose a line
		c.enqueue(l)
	}
	return lc.label
}

// resumeLabel starts capturing again under a label taken earlier.
func (s *Server) resumeLabel(c *Client, label string) {
	if label != "" && c.label == nil && c.caps&labelCaps == labelCaps {
		c.label = &labelCapture{label: label, busy: c.busy}
	}
}

// endLabel sends the captured response once the command is done; a command
// suspended by an async step is finished when c's input resumes.
func (s *Server) endLabel(c *Client) {
	lc := c.label
	if c.gone {
		c.label = nil
		return
	}
	if c.busy > lc.busy {
		return // processBatch finishes it once nothing holds c
	}
	c.label = nil
	if lc.lanes > 0 {
		lc.parked = true // the last echo from the history lane sends it
		return
	}
	s.sendLabeled(c, lc)
}

// laneLabel runs fn (a history lane callback of a labeled command) with
// the command's capture in place, so that the echo it sends is part of
// the labeled response, and sends the response when it was the command's
// last message and the command is done. Lines sent to c by anything else
// between the command and its callbacks are not captured.
func (s *Server) laneLabel(c *Client, lc *labelCapture, fn func()) {
	prev := c.label
	c.label = lc
	fn()
	if c.label == lc {
		c.label = prev
	} // else the capture overflowed the SendQ and c is being dropped
	lc.lanes--
	if lc.lanes == 0 && lc.parked && !c.gone {
		lc.parked = false
		s.sendLabeled(c, lc)
	}
}

// capture adds b (one or more lines) to the response.
func (lc *labelCapture) capture(c *Client, b []byte) {
	lc.bytes += len(b)
	if lc.bytes > c.s.lim.SendQBytes {
		lc.lines = nil
		c.label = nil
		c.s.sendqExceeded(c)
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			lc.lines = append(lc.lines, b)
			return
		}
		lc.lines = append(lc.lines, b[:i+1])
		b = b[i+1:]
	}
}

func (s *Server) sendLabeled(c *Client, lc *labelCapture) {
	switch {
	case len(lc.lines) == 0:
		c.enqueue([]byte("@label=" + lc.label + " :" + s.name + " ACK\r\n"))
		return
	case len(lc.lines) == 1 || oneBatch(lc.lines):
		c.enqueue(withTag(lc.lines[0], "label", lc.label))
		for _, l := range lc.lines[1:] {
			c.enqueue(l)
		}
		return
	}
	ref := s.newBatchRef()
	c.enqueue(batchLine(s.name, "label="+lc.label, ref, true, "labeled-response"))
	for _, l := range lc.lines {
		if lineBatchRef(l) == "" {
			l = withBatchTag(l, ref)
		}
		c.enqueue(l)
	}
	c.enqueue(batchLine(s.name, "", ref, false))
}

// oneBatch reports whether lines are exactly one batch: its opening line,
// lines inside it (or inside batches nested in it), its closing line.
func oneBatch(lines [][]byte) bool {
	first, last := lines[0], lines[len(lines)-1]
	if lineBatchRef(first) != "" || lineBatchRef(last) != "" {
		return false
	}
	cmd, open := lineVerb(first)
	if cmd != "BATCH" || len(open) < 2 || open[0] != '+' {
		return false
	}
	cmd, close := lineVerb(last)
	if cmd != "BATCH" || close != "-"+open[1:] {
		return false
	}
	for _, l := range lines[1 : len(lines)-1] {
		if lineBatchRef(l) == "" {
			return false
		}
	}
	return true
}
