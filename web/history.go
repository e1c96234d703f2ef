package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/thorchat/thorchat/record"
)

// The pages without JavaScript: GET /c/<channel> (the name without its
// "#", or with it as %23) shows a public channel's recent history as plain
// HTML, PageSize messages a page, with links to older and newer pages
// (?before=<msgid> and ?after=<msgid>; a timestamp, RFC 3339, works as a
// reference too). Only channels whose history anyone may read (History
// decides) have one; any other name is 404.
const (
	// PageSize is the number of messages one page shows.
	PageSize = 50
	// MaxHistoryReads bounds the pages read from the history at once;
	// past it a request gets 503.
	MaxHistoryReads = 4
	// historyTimeout bounds one page's read.
	historyTimeout = 10 * time.Second
	// maxChannelPath bounds the channel name in a page's path, in bytes.
	maxChannelPath = 64
	// maxRefLen bounds a before=/after= value.
	maxRefLen = 64
)

// History is where the pages without JavaScript read from, wired by the
// daemon: the IRC server's say on who may read a channel and the stored
// history.
type History interface {
	// PublicHistory returns, oldest first, at most q.Limit messages
	// (PRIVMSG and NOTICE) of q.Channel and its name as created; the
	// latest ones, or those before or after a reference. ErrNotPublic
	// for a channel whose history not everyone may read (or that does
	// not exist), ErrNoSuchMessage for an unknown msgid reference.
	PublicHistory(ctx context.Context, q HistoryRequest) (name string, msgs []record.Message, err error)
}

// HistoryRequest is one page's read.
type HistoryRequest struct {
	Channel string
	// Before or After (at most one set): messages before or after this
	// reference; neither: the latest.
	Before, After HistoryRef
	Limit         int
}

// HistoryRef names a message by msgid, or a point in time.
type HistoryRef struct {
	MsgID string
	Time  time.Time
}

// IsZero reports whether r names nothing.
func (r HistoryRef) IsZero() bool { return r.MsgID == "" && r.Time.IsZero() }

// Errors a History returns.
var (
	ErrNotPublic     = errors.New("web: not a public channel")
	ErrNoSuchMessage = errors.New("web: no such message")
)

// channelPage fills channel.html.
type channelPage struct {
	Name, Network        string
	Lines                []pageLine
	Older, Newer, Latest string
}

type pageLine struct {
	ID, ISO, Time, Nick, Text, Kind string
}

var channelTmpl = template.Must(template.ParseFS(static, "static/channel.html"))

// serveChannel serves GET /c/<channel>.
func (s *Server) serveChannel(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, ok := channelFromPath(r.URL.Path)
	if !ok || s.history == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	q := HistoryRequest{Channel: name, Limit: PageSize + 1}
	var bad bool
	if q.Before, bad = parseRef(r.URL.Query().Get("before")); bad {
		http.Error(w, "bad before=", http.StatusBadRequest)
		return
	}
	if q.After, bad = parseRef(r.URL.Query().Get("after")); bad || (!q.Before.IsZero() && !q.After.IsZero()) {
		http.Error(w, "bad after=", http.StatusBadRequest)
		return
	}
	select {
	case s.reads <- struct{}{}:
		defer func() { <-s.reads }()
	default:
		w.Header().Set("Retry-After", "2")
		http.Error(w, "busy, try again", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), historyTimeout)
	defer cancel()
	shown, msgs, err := s.history.PublicHistory(ctx, q)
	switch {
	case errors.Is(err, ErrNotPublic):
		http.Error(w, "no public channel by that name", http.StatusNotFound)
		return
	case errors.Is(err, ErrNoSuchMessage):
		http.Error(w, "no such message", http.StatusNotFound)
		return
	case err != nil:
		s.log.Warn("channel page: history read failed", "err", err)
		http.Error(w, "history unavailable", http.StatusServiceUnavailable)
		return
	}
	page := s.buildPage(shown, q, msgs)
	var b bytes.Buffer
	if err := channelTmpl.Execute(&b, page); err != nil {
		s.log.Warn("channel page: render failed", "err", err)
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept-Encoding")
	body := b.Bytes()
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(body)
		zw.Close()
		body = gz.Bytes()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// buildPage turns a read of PageSize+1 messages into a page and its links:
// the extra message, when there, says a further page exists on its side.
func (s *Server) buildPage(name string, q HistoryRequest, msgs []record.Message) channelPage {
	more := len(msgs) > PageSize
	if more {
		if q.After.IsZero() {
			msgs = msgs[1:] // latest or before: the extra one is the oldest
		} else {
			msgs = msgs[:PageSize]
		}
	}
	base := ChannelPath(name)
	p := channelPage{Name: name, Network: s.network, Latest: base}
	for i := range msgs {
		p.Lines = append(p.Lines, pageLineOf(&msgs[i]))
	}
	if len(msgs) == 0 {
		if !q.Before.IsZero() || !q.After.IsZero() {
			p.Newer = base
		}
		return p
	}
	first, last := msgs[0].MsgID, msgs[len(msgs)-1].MsgID
	// older: there is more before this page when the read said so, or
	// when this page was read after a reference (that message is older)
	if (q.After.IsZero() && more) || !q.After.IsZero() {
		p.Older = base + "?before=" + url.QueryEscape(first)
	}
	if (!q.After.IsZero() && more) || !q.Before.IsZero() {
		p.Newer = base + "?after=" + url.QueryEscape(last)
	}
	return p
}

// ChannelPath is the path of a channel's page without JavaScript.
func ChannelPath(channel string) string {
	return "/c/" + url.PathEscape(strings.TrimPrefix(channel, "#"))
}

// channelFromPath returns the channel a /c/ path names ("#" added when
// missing); false for anything that cannot be a channel name.
func channelFromPath(p string) (string, bool) {
	name, ok := strings.CutPrefix(p, "/c/")
	if !ok || name == "" || len(name) > maxChannelPath || !utf8.ValidString(name) {
		return "", false
	}
	if !strings.HasPrefix(name, "#") {
		name = "#" + name
	}
	for _, r := range name {
		if r == '/' || r == ',' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", false
		}
	}
	return name, true
}

// parseRef parses a before=/after= value: a timestamp (RFC 3339) or a
// msgid. bad reports a value that is neither.
func parseRef(v string) (ref HistoryRef, bad bool) {
	if v == "" {
		return HistoryRef{}, false
	}
	if len(v) > maxRefLen {
		return HistoryRef{}, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return HistoryRef{Time: t}, false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return HistoryRef{}, true
		}
	}
	return HistoryRef{MsgID: v}, false
}

// pageLineOf renders one stored message as text (html/template escapes it).
func pageLineOf(m *record.Message) pageLine {
	nick, _, _ := strings.Cut(m.Prefix, "!")
	l := pageLine{ID: m.MsgID, ISO: m.Time.UTC().Format(time.RFC3339), Time: m.Time.UTC().Format("2006-01-02 15:04"), Nick: nick, Text: m.Text, Kind: "msg"}
	if m.Kind == record.KindNotice {
		l.Kind = "notice"
	}
	if a, ok := strings.CutPrefix(m.Text, "\x01ACTION "); ok {
		l.Kind, l.Text = "action", strings.TrimSuffix(a, "\x01")
	}
	if m.Redacted {
		l.Text = "(message deleted)"
	}
	l.Text = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1 // IRC formatting codes and the like
	}, l.Text)
	return l
}
