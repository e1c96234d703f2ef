package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// MaxAssetBytes bounds all page assets together, uncompressed.
const MaxAssetBytes = 200_000

// asset is one file of the page, with its gzip form made at start.
type asset struct {
	typ  string
	body []byte
	gz   []byte
	etag string
}

// routes maps request paths to the embedded files.
var routes = map[string]string{
	"/":         "index.html",
	"/app.js":   "app.js",
	"/app.css":  "app.css",
	"/icon.svg": "icon.svg",
}

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

// pageData fills index.html's template: what the script reads from the
// body's data attributes (never inline script).
type pageData struct {
	Channels string
	Network  string
	// Pages are the default channels' pages without JavaScript (none
	// without Options.History).
	Pages []channelLink
}

type channelLink struct{ Name, Path string }

// loadAssets renders index.html and compresses every asset.
func loadAssets(opts Options) (map[string]*asset, error) {
	out := map[string]*asset{}
	total := 0
	for route, name := range routes {
		body, err := fs.ReadFile(static, "static/"+name)
		if err != nil {
			return nil, fmt.Errorf("web: embedded %s: %w", name, err)
		}
		if name == "index.html" {
			t, err := template.New(name).Parse(string(body))
			if err != nil {
				return nil, fmt.Errorf("web: %s: %w", name, err)
			}
			var b bytes.Buffer
			data := pageData{Channels: strings.Join(opts.DefaultChannels, ","), Network: opts.Network}
			if opts.History != nil {
				for _, c := range opts.DefaultChannels {
					data.Pages = append(data.Pages, channelLink{Name: c, Path: ChannelPath(c)})
				}
			}
			err = t.Execute(&b, data)
			if err != nil {
				return nil, fmt.Errorf("web: %s: %w", name, err)
			}
			body = b.Bytes()
		}
		total += len(body)
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		sum := sha256.Sum256(body)
		out[route] = &asset{
			typ:  types[path.Ext(name)],
			body: body,
			gz:   gz.Bytes(),
			etag: `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
	}
	if total > MaxAssetBytes {
		return nil, fmt.Errorf("web: page assets are %d bytes, over the %d-byte bound", total, MaxAssetBytes)
	}
	return out, nil
}

// serveAsset serves one of the page's files, gzip-compressed when the
// client accepts it; anything else is 404.
func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	a := s.assets[r.URL.Path]
	if a == nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.typ)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body = a.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (and
// does not refuse it with q=0).
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
