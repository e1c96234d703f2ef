package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/thorchat/thorchat/accounts"
	"github.com/thorchat/thorchat/config"
	"github.com/thorchat/thorchat/ircd"
	"github.com/thorchat/thorchat/record"
	"github.com/thorchat/thorchat/web"
)

// webClient is the browser client: its HTTP listeners (the onion's second
// port and dev_tcp) and the WebSocket listener ircd serves.
type webClient struct {
	srv *web.Server
	wg  sync.WaitGroup
	log *slog.Logger
}

// startWeb prepares the page and hands ircd the WebSocket listener; the
// HTTP listeners are added with serveDev and serveOnion.
func startWeb(cfg *config.Config, log *slog.Logger, serveOn func(net.Listener, ircd.Listener), hist web.History) (*webClient, error) {
	ws, err := web.New(web.Options{DefaultChannels: cfg.Web.DefaultChannels, Network: cfg.Server.Network, Logger: log, History: hist})
	if err != nil {
		return nil, err
	}
	wl := ws.Listener()
	serveOn(wl, ircd.Listener{
		Kind: "websocket", Host: strings.ToLower(cfg.Server.Name),
		// the same per-origin limits as the IRC listeners: the Tor circuit
		// behind the onion's web port, the remote address on dev_tcp
		Origin: wl.Origin, OriginKind: "origin",
		RateOrigin: func(c net.Conn) string { return rateKey(wl.Origin(c)) },
	})
	return &webClient{srv: ws, log: log}, nil
}

// rateKey is the key by which new WebSocket connections are rate-limited:
// the circuit as it is, a dev_tcp remote address without its port (as on
// the IRC dev listener).
func rateKey(origin string) string {
	if host, _, err := net.SplitHostPort(origin); err == nil {
		return host
	}
	return origin
}

func (w *webClient) serve(ln net.Listener, site web.Site) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := w.srv.Serve(ln, site); err != nil {
			w.log.Error("web listener stopped", "err", err)
		}
	}()
}

// serveDev opens a [web] dev_tcp listener (loopback only, refused
// otherwise at start); its origin is http://host:port as bound.
func (w *webClient) serveDev(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("web.dev_tcp %q: %w", addr, err)
	}
	if err := config.CheckLoopbackHost(host); err != nil {
		return fmt.Errorf("web.dev_tcp: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("web.dev_tcp %q: %w", addr, err)
	}
	ta, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !ta.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("web.dev_tcp %q: bound to a non-loopback address", addr)
	}
	origin := "http://" + net.JoinHostPort(host, strconv.Itoa(ta.Port))
	w.log.Info("web dev listener", "addr", ln.Addr().String(), "open", origin+"/")
	w.serve(ln, web.Site{Origin: origin, Key: func(c net.Conn) string { return c.RemoteAddr().String() }})
	return nil
}

// serveOnion serves the onion's web port from its unix socket; with
// circuit IDs exported, each stream starts with tor's PROXY line.
func (w *webClient) serveOnion(ln net.Listener, onion string, port int, proxy bool) {
	origin := "http://" + onion
	if port != 80 {
		origin += ":" + strconv.Itoa(port)
	}
	site := web.Site{Origin: origin}
	if proxy {
		ln = web.ProxyListener{Listener: ln}
		site.Key = web.ProxyKey
	}
	w.log.Info("open " + origin + "/ in Tor Browser")
	w.serve(ln, site)
}

// close stops the HTTP listeners and waits for them.
func (w *webClient) close() {
	w.srv.Close()
	w.wg.Wait()
}

// publicHistory is the web client's History: ircd says whether anyone may
// read a channel (on its loop), the accounts service reads the store.
type publicHistory struct {
	srv *ircd.Server
	acc *accounts.Service
}

// PublicHistory implements web.History.
func (h publicHistory) PublicHistory(ctx context.Context, q web.HistoryRequest) (string, []record.Message, error) {
	name, target, ok, err := h.srv.PublicChannel(ctx, q.Channel)
	if err != nil {
		return "", nil, fmt.Errorf("public history: %w", err)
	}
	if !ok {
		return "", nil, web.ErrNotPublic
	}
	hq := ircd.HistoryQuery{Sub: ircd.HistoryLatest, Target: target, Limit: q.Limit}
	switch {
	case !q.Before.IsZero():
		hq.Sub, hq.From = ircd.HistoryBefore, ircd.HistoryRef(q.Before)
	case !q.After.IsZero():
		hq.Sub, hq.From = ircd.HistoryAfter, ircd.HistoryRef(q.After)
	}
	msgs, err := h.acc.History(hq)
	if errors.Is(err, ircd.ErrHistoryNotFound) {
		return "", nil, web.ErrNoSuchMessage
	}
	if err != nil {
		return "", nil, fmt.Errorf("public history of %s: %w", name, err)
	}
	return name, msgs, nil
}
