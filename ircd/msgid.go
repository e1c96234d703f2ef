package ircd

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// msgIDLen is the length of a message ID (IRCv3 message-ids): 26
// characters of base32hex, lower case.
const msgIDLen = 26

// base32hex keeps the order of the numbers it encodes: fixed-width IDs
// compare as strings in the order they were issued.
const base32hex = "0123456789abcdefghijklmnopqrstuv"

// msgIDGen issues message IDs. An ID is 64 bits of time and sequence
// (milliseconds since 1970 shifted left by 16, plus a counter within the
// millisecond) followed by 64 random bits drawn once per process: IDs of
// one process sort by the time they were issued, and two processes (a
// restart, even with the clock set back) do not share IDs. Issuing one is
// an add and an encoding, no system call. It is owned by the processing
// goroutine.
type msgIDGen struct {
	last   uint64             // time and sequence of the last ID
	suffix [msgIDLen / 2]byte // the process's random half, encoded
}

func newMsgIDGen() (msgIDGen, error) {
	var g msgIDGen
	var r [8]byte
	if _, err := rand.Read(r[:]); err != nil {
		return g, fmt.Errorf("ircd: message ID seed: %w", err)
	}
	encode64(g.suffix[:], binary.BigEndian.Uint64(r[:]))
	return g, nil
}

// next writes a new ID issued at into id.
func (g *msgIDGen) next(at time.Time, id *[msgIDLen]byte) {
	v := uint64(at.UnixMilli()) << 16
	if v <= g.last {
		v = g.last + 1 // same millisecond, or the clock went back
	}
	g.last = v
	encode64(id[:msgIDLen/2], v)
	copy(id[msgIDLen/2:], g.suffix[:])
}

// encode64 writes v as 13 base32hex digits, most significant first.
func encode64(dst []byte, v uint64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = base32hex[v&31]
		v >>= 5
	}
}

// relayMsg is newOutMsg for a PRIVMSG, NOTICE or TAGMSG: it carries a new
// message ID, which message-tags clients (the echo included) get as the
// msgid tag.
func (s *Server) relayMsg(at time.Time, body []byte) *outMsg {
	m := &outMsg{at: at, body: body, hasID: true}
	s.msgIDs.next(at, &m.msgid)
	return m
}
