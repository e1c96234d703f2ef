package identity

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestImportSample(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := ImportNodes(f, "thor", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []AllowEntry{
		{"thorpub1addwnpepqvu7p9xhrdxj4ngmfhy2rv3tmzxuskxtyu28kmmf35x6l6ymnndyupf4zwf", "thor12y25lk0s26vnx73f5wggr34zyuhjpyalp08ydg", "Active"},
		{"thorpub1addwnpepqt5fqnutdlcxaphhx56e8au55mjs3n0eupq8hztfwk8prexv4py4k74aaey", "thor1203t8nrc2kn9crrgk2l7harc2x2gk34lknz3ea", "Active"},
		{"thorpub1addwnpepqfm0dyhkasmc3u247z6gkg2f5j0nrq04umncydkvntr7acrcfufhxmkd38s", "thor1swwsmglut9vh3phwmhjm2ql00ludxn3dhcdrfu", "Active"},
		{"thorpub1addwnpepqg2nmu99wacnq423acr3j946yk4zwh7s0f9d7295natn7yhllc77q93988m", "thor1paqckefl7574sv5lwacy2cn9lphh55d9u6aajh", "Standby"},
		{"thorpub1addwnpepqv3803aq4jl95awjlap859erd6q7xezu0u54h27smgxmxzfn4qmyxqpuec8", "thor1ze0u3rve0zqrtu4ypd3uta256xsu6rl6g424w9", "Ready"},
		{"thorpub1addwnpepq2kcql9as3nkdrmqcktynlvrswuyjtrn4lf79fxyjggwcyx0vr6dxg4gs80", "thor17exyjzrrj2mf3a37l68dcfuavp2nqy96ptv9lj", "Standby"},
	}
	if !slices.Equal(res.Entries, want) {
		t.Fatalf("entries:\n%v\nwant\n%v", res.Entries, want)
	}
	if res.Nodes != 9 || res.OtherStatus != 2 {
		t.Fatalf("Nodes=%d OtherStatus=%d, want 9 and 2 (Disabled, Whitelisted)", res.Nodes, res.OtherStatus)
	}
	if len(res.Warnings) != 1 || res.Warnings[0].NodeAddress != "thor1f2c5rp855axk0sa2y2qp6cj6zwvyawjat3ja4j" ||
		!strings.Contains(res.Warnings[0].Reason, "not node_address") {
		t.Fatalf("warnings = %v, want one mismatch for thor1f2c5…", res.Warnings)
	}
	// What the import yields is a loadable allowlist.
	path := filepath.Join(t.TempDir(), "operators.txt")
	if err := WriteAllowlistFile(path, res.Entries); err != nil {
		t.Fatal(err)
	}
	a, err := LoadAllowlistFile("thor", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range want {
		if !a.Contains(e.NodeAddress) {
			t.Errorf("allowlist lacks %s", e.NodeAddress)
		}
	}
	if a.Len() != len(want) || a.Contains("thor1e2n9j3r6efyuzqsj2rrmz6qhqdyx08cylkmkrz") {
		t.Fatalf("allowlist = %v", a.Accounts())
	}
}

func TestImportStatuses(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "nodes.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		statuses []string
		entries  int
		warnings int
	}{
		{[]string{"active"}, 3, 1},
		{[]string{"Disabled"}, 1, 0},
		{[]string{"Whitelisted"}, 0, 1}, // no secp256k1 key
		{[]string{"Unknown"}, 0, 0},
		{[]string{"Active", "Standby", "Ready", "Disabled", "Whitelisted"}, 7, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.statuses, ","), func(t *testing.T) {
			res, err := ImportNodes(strings.NewReader(string(raw)), "thor", tt.statuses)
			if err != nil || len(res.Entries) != tt.entries || len(res.Warnings) != tt.warnings {
				t.Fatalf("entries=%d warnings=%v err=%v; want %d, %d", len(res.Entries), res.Warnings, err, tt.entries, tt.warnings)
			}
		})
	}
}

func TestImportRejects(t *testing.T) {
	pub := mustHex(t, vecPub)
	key := EncodePubKey("thorpub", pub)
	node := func(addr, pk string) string {
		return `{"node_address":"` + addr + `","status":"Active","pub_key_set":{"secp256k1":"` + pk + `"}}`
	}
	tests := []struct {
		name     string
		in       string
		want     error
		warnings int
	}{
		{"not an array", `{"nodes":[]}`, ErrBadEncoding, 0},
		{"empty input", ``, ErrBadEncoding, 0},
		{"truncated", `[` + node(vecAccount, key), ErrBadEncoding, 0},
		{"trailing data", `[]{}`, ErrBadEncoding, 0},
		{"wrong field type", `[{"node_address":7}]`, ErrBadEncoding, 0},
		{"empty array", `[]`, nil, 0},
		{"null key set", `[{"node_address":"` + vecAccount + `","status":"Active","pub_key_set":null}]`, nil, 1},
		{"garbage key", `[` + node(vecAccount, "thorpub1zzz") + `]`, nil, 1},
		{"wrong key hrp", `[` + node(vecAccount, EncodePubKey("cosmospub", pub)) + `]`, nil, 1},
		{"duplicate", `[` + node(vecAccount, key) + `,` + node(vecAccount, key) + `]`, nil, 1},
		{"hostile address", `[` + node(`thor1\u0007\n`+strings.Repeat("x", 500), key) + `]`, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ImportNodes(strings.NewReader(tt.in), "thor", nil)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(res.Warnings) != tt.warnings {
				t.Fatalf("warnings = %v, want %d", res.Warnings, tt.warnings)
			}
			for _, w := range res.Warnings {
				if len(w.NodeAddress) > 100 || strings.ContainsAny(w.NodeAddress, "\n\a") {
					t.Fatalf("unsanitized warning address %q", w.NodeAddress)
				}
			}
		})
	}
}

func TestImportBounds(t *testing.T) {
	// Over MaxImportNodes: tiny objects, well under the byte bound.
	var b strings.Builder
	b.WriteString("[")
	for i := 0; i <= MaxImportNodes; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"status":"Disabled"}`)
	}
	b.WriteString("]")
	if _, err := ImportNodes(strings.NewReader(b.String()), "thor", nil); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too many nodes: %v", err)
	}
	// The byte bound, with a small bound so the test stays fast: a document
	// of exactly maxBytes passes, one byte more does not.
	doc := `[{"status":"` + strings.Repeat("a", 1000) + `"}]`
	if _, err := importNodes(strings.NewReader(doc), "thor", nil, int64(len(doc)), 10); err != nil {
		t.Fatalf("document at the byte bound: %v", err)
	}
	if _, err := importNodes(strings.NewReader(doc+" "), "thor", nil, int64(len(doc)), 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one byte over the bound: %v", err)
	}
	if _, err := importNodes(strings.NewReader(doc[:len(doc)-1]+`,{}]`), "thor", nil, 1<<20, 1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("two nodes over a bound of one: %v", err)
	}
}
