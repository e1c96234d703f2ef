package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// get fetches path from the site over a real socket without Go's
// transparent decompression.
func get(t *testing.T, ts *testSite, method, path, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+ts.httpAddr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", acceptEncoding)
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestHeaders: every response, found or not, carries the strict CSP and
// the other security headers.
func TestHeaders(t *testing.T) {
	ts := startSite(t, testFlood)
	for _, tc := range []struct {
		method, path string
		status       int
		typ          string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8"},
		{"GET", "/app.css", 200, "text/css; charset=utf-8"},
		{"GET", "/icon.svg", 200, "image/svg+xml"},
		{"HEAD", "/", 200, "text/html; charset=utf-8"},
		{"GET", "/index.html", 404, ""},
		{"GET", "/../../etc/passwd", 404, ""},
		{"POST", "/", 405, ""},
		{"GET", "/ws", 403, ""}, // no Origin
	} {
		resp, _ := get(t, ts, tc.method, tc.path, "")
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if tc.typ != "" && resp.Header.Get("Content-Type") != tc.typ {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
			"frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'", "img-src 'self'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s %s: CSP %q lacks %q", tc.method, tc.path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows something unsafe: %q", csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s %s: headers %v", tc.method, tc.path, resp.Header)
		}
	}
}

var (
	inlineCode = regexp.MustCompile(`(?i)<style|\sstyle=|\son[a-z]+=|javascript:`)
	scriptTag  = regexp.MustCompile(`(?i)<script[^>]*>`)
)

// TestGzipAndSize: assets are served gzip-compressed when asked (and only
// then), decompress to the plain body, and are at most 200 KB together;
// the page has no inline script or style.
func TestGzipAndSize(t *testing.T) {
	ts := startSite(t, testFlood)
	total := 0
	for path := range routes {
		resp, plain := get(t, ts, "GET", path, "")
		if resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: compressed without being asked", path)
		}
		total += len(plain)
		for _, ae := range []string{"gzip", "br, gzip;q=0.8", "deflate, GZIP"} {
			resp, z := get(t, ts, "GET", path, ae)
			if resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("%s with %q: Content-Encoding %q", path, ae, resp.Header.Get("Content-Encoding"))
			}
			zr, err := gzip.NewReader(bytes.NewReader(z))
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("%s: gzip body differs (%v)", path, err)
			}
		}
		if resp, _ := get(t, ts, "GET", path, "gzip;q=0"); resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s: gzip;q=0 still compressed", path)
		}
		if path == "/" {
			page := string(plain)
			if inlineCode.MatchString(page) {
				t.Fatalf("index.html has inline script or style: %q", inlineCode.FindString(page))
			}
			for _, tag := range scriptTag.FindAllString(page, -1) {
				if !strings.Contains(tag, ` src="/`) {
					t.Fatalf("inline or foreign script: %s", tag)
				}
			}
			if !strings.Contains(page, `data-channels="#thorchat"`) || !strings.Contains(page, "<noscript>") {
				t.Fatal("index.html lacks the default channels or the no-JS notice")
			}
		}
	}
	if total > MaxAssetBytes {
		t.Fatalf("assets are %d bytes, over %d", total, MaxAssetBytes)
	}
	t.Logf("assets: %d bytes uncompressed", total)
}
