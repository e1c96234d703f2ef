package store

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzHistoryDecode: no bytes make the entry decoder panic; it either
// refuses them with ErrCorrupt or decodes an entry that encodes back to a
// value decoding to the same entry.
func FuzzHistoryDecode(f *testing.F) {
	e := histEntry("#f", "m1", 1)
	e.Tags = map[string]string{"+draft/react": "👍", "+draft/reply": "m0"}
	e.Params = []string{"victim"}
	e.Text = "line\nline"
	f.Add(encodeHistory(&e))
	e.Redacted, e.Text, e.Tags, e.Params = true, "", nil, nil
	f.Add(encodeHistory(&e))
	f.Add([]byte{historyFormat, 0, byte(KindPrivmsg), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{})
	key := histKey(t0.UnixNano(), 1)
	f.Fuzz(func(t *testing.T, v []byte) {
		got, err := decodeHistory("#f", key[:], v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		again, err := decodeHistory("#f", key[:], encodeHistory(&got))
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("re-encoding changed the entry: %+v -> %+v, %v", got, again, err)
		}
		if _, err := histMsgID(v); err != nil {
			t.Fatalf("histMsgID refuses what decodes: %v", err)
		}
	})
}
