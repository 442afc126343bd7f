package codec

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

func key(id string, fill byte) Key {
	return Key{ID: id, Secret: bytes.Repeat([]byte{fill}, KeySize)}
}

func mustNew(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payloads as the SDK's default converter makes them.
func payloads(t *testing.T, values ...any) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	for _, v := range values {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

type secret struct {
	Email       string
	AmountMinor int64
}

func TestRoundTrip(t *testing.T) {
	c := mustNew(t, key("k1", 1))
	in := payloads(t, secret{Email: "ap@acme.test", AmountMinor: 12345}, "hello", nil, []byte{0, 1, 2})
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range enc {
		if string(p.Metadata[converter.MetadataEncoding]) != Encoding || string(p.Metadata[MetadataKeyID]) != "k1" {
			t.Errorf("payload %d metadata: %v", i, p.Metadata)
		}
		if bytes.Contains(p.Data, []byte("acme")) || bytes.Contains(p.Data, []byte("12345")) || bytes.Contains(p.Data, []byte("hello")) {
			t.Errorf("payload %d is in clear: %q", i, p.Data)
		}
	}
	if bytes.Equal(enc[0].Data, mustEncode(t, c, in[:1])[0].Data) {
		t.Error("two encryptions of the same payload are equal: the nonce is not random")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !proto.Equal(in[i], dec[i]) {
			t.Errorf("payload %d: decoded %v, want %v", i, dec[i], in[i])
		}
	}
	var got secret
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &got); err != nil || got.Email != "ap@acme.test" || got.AmountMinor != 12345 {
		t.Errorf("decoded value %+v, %v", got, err)
	}
}

func mustEncode(t *testing.T, c *Codec, p []*commonpb.Payload) []*commonpb.Payload {
	t.Helper()
	out, err := c.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Through the SDK's codec data converter, as the worker and the API use it.
func TestCodecDataConverter(t *testing.T) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), mustNew(t, key("k1", 1)))
	p, err := dc.ToPayload(secret{Email: "ap@acme.test", AmountMinor: 12345})
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Metadata[converter.MetadataEncoding]) != Encoding {
		t.Fatalf("not encrypted: %v", p.Metadata)
	}
	var got secret
	if err := dc.FromPayload(p, &got); err != nil || got.Email != "ap@acme.test" {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestUnencryptedPayloadsPassThrough(t *testing.T) {
	c := mustNew(t, key("k1", 1))
	old := payloads(t, secret{Email: "old@acme.test"})
	dec, err := c.Decode(old)
	if err != nil || !proto.Equal(dec[0], old[0]) {
		t.Fatalf("an unencrypted payload: %v, %v", dec, err)
	}
}

func TestRotation(t *testing.T) {
	oldCodec := mustNew(t, key("2025", 1))
	old := mustEncode(t, oldCodec, payloads(t, "written under the old key"))

	// The new key becomes active; the old one stays, after it, to decrypt.
	rotated := mustNew(t, key("2026", 2), key("2025", 1))
	dec, err := rotated.Decode(old)
	if err != nil {
		t.Fatalf("old payload after rotation: %v", err)
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(dec[0], &s); err != nil || s != "written under the old key" {
		t.Fatalf("%q, %v", s, err)
	}
	fresh := mustEncode(t, rotated, payloads(t, "new"))
	if got := string(fresh[0].Metadata[MetadataKeyID]); got != "2026" {
		t.Errorf("new payloads use key %q, want the active 2026", got)
	}
	// The old keyring cannot read what the new key wrote, and says why.
	_, err = oldCodec.Decode(fresh)
	var unknown *UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != "2026" || !strings.Contains(err.Error(), `"2026"`) || !strings.Contains(err.Error(), EnvKeys) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestTamperDetection(t *testing.T) {
	c := mustNew(t, key("a", 1), key("b", 2))
	enc := mustEncode(t, c, payloads(t, secret{Email: "ap@acme.test"}))[0]

	flipped := proto.Clone(enc).(*commonpb.Payload)
	flipped.Data[len(flipped.Data)-1] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Errorf("a flipped bit: %v", err)
	}
	// Relabelled with the other key's id: the id is authenticated.
	relabelled := proto.Clone(enc).(*commonpb.Payload)
	relabelled.Metadata[MetadataKeyID] = []byte("b")
	if _, err := c.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Error("a payload relabelled with another key id decrypted")
	}
	short := proto.Clone(enc).(*commonpb.Payload)
	short.Data = short.Data[:5]
	if _, err := c.Decode([]*commonpb.Payload{short}); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("a truncated payload: %v", err)
	}
	// A different key under the same id.
	other := mustNew(t, key("a", 9))
	if _, err := other.Decode([]*commonpb.Payload{enc}); err == nil {
		t.Error("decrypted with the wrong key")
	}
}

func TestUnknownKeyID(t *testing.T) {
	enc := mustEncode(t, mustNew(t, key("gone", 1)), payloads(t, "x"))
	_, err := mustNew(t, key("k1", 1)).Decode(enc)
	var unknown *UnknownKeyError
	if !errors.As(err, &unknown) || unknown.KeyID != "gone" {
		t.Fatalf("want an UnknownKeyError for gone, got %v", err)
	}
	delete(enc[0].Metadata, MetadataKeyID)
	if _, err := mustNew(t, key("k1", 1)).Decode(enc); err == nil || !strings.Contains(err.Error(), "names no key id") {
		t.Errorf("no key id: %v", err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for name, keys := range map[string][]Key{
		"none":      nil,
		"short":     {{ID: "k1", Secret: make([]byte, 16)}},
		"long":      {{ID: "k1", Secret: make([]byte, 33)}},
		"no id":     {{ID: "", Secret: make([]byte, 32)}},
		"duplicate": {key("k1", 1), key("k1", 2)},
		"colon id":  {{ID: "a:b", Secret: make([]byte, 32)}},
	} {
		if _, err := New(keys); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func b64(fill byte, n int) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

func TestParseKeys(t *testing.T) {
	keys, err := ParseKeys(" new:" + b64(2, 32) + " , old:" + b64(1, 32))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].ID != "new" || keys[1].ID != "old" || keys[0].Secret[0] != 2 {
		t.Fatalf("%+v", keys)
	}
	// URL-safe and unpadded base64 are read too.
	if _, err := ParseKeys("k:" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))); err != nil {
		t.Errorf("unpadded URL-safe base64: %v", err)
	}
	for _, tc := range []struct{ list, want string }{
		{"k1:" + b64(1, 16), "COLLECTIONS_CODEC_KEYS: entry 1: key \"k1\": 16 bytes, want 32"},
		{"k1:" + b64(1, 32) + ",k2:" + b64(1, 31), "COLLECTIONS_CODEC_KEYS: entry 2: key \"k2\": 31 bytes, want 32"},
		{"k1:not base64!", "COLLECTIONS_CODEC_KEYS: entry 1: key \"k1\": not base64"},
		{b64(1, 32), "COLLECTIONS_CODEC_KEYS: entry 1: want keyid:base64key"},
		{"k1:" + b64(1, 32) + ",", "COLLECTIONS_CODEC_KEYS: entry 2: want keyid:base64key"},
		{"k1:" + b64(1, 32) + ",k1:" + b64(2, 32), "COLLECTIONS_CODEC_KEYS: key id \"k1\" appears twice"},
	} {
		_, err := ParseKeys(tc.list)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.list, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), b64(1, 32)) {
			t.Errorf("%q: the error shows the key: %v", tc.list, err)
		}
	}
}

func TestReadKeysFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# active first\n\nk2:" + b64(2, 32) + "\n  # retired, still decrypts\nk1:" + b64(1, 32) + "\n")
	keys, err := ReadKeysFile(path)
	if err != nil || len(keys) != 2 || keys[0].ID != "k2" || keys[1].ID != "k1" {
		t.Fatalf("%+v, %v", keys, err)
	}
	write("# comment\nk2:" + b64(2, 32) + "\nk1:" + b64(1, 8) + "\n")
	if _, err := ReadKeysFile(path); err == nil || !strings.Contains(err.Error(), "COLLECTIONS_CODEC_KEYS_FILE "+path+": line 3: key \"k1\": 8 bytes") {
		t.Errorf("bad line: %v", err)
	}
	write("# nothing\n")
	if _, err := ReadKeysFile(path); err == nil || !strings.Contains(err.Error(), "no keys") {
		t.Errorf("empty file: %v", err)
	}
	if _, err := ReadKeysFile(filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "COLLECTIONS_CODEC_KEYS_FILE: ") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSettingsLoad(t *testing.T) {
	keys := "k1:" + b64(1, 32)
	for _, tc := range []struct {
		name      string
		s         Settings
		defaultOn bool
		on        bool
		err       string
	}{
		{"production default without keys", Settings{}, true, false, "no keys are set: set COLLECTIONS_CODEC_KEYS"},
		{"production default with keys", Settings{Keys: keys}, true, true, ""},
		{"production off", Settings{Mode: "off"}, true, false, ""},
		{"dev default without keys", Settings{}, false, false, ""},
		{"dev with keys", Settings{Keys: keys}, false, true, ""},
		{"dev on without keys", Settings{Mode: "on"}, false, false, "COLLECTIONS_CODEC"},
		{"off wins over keys", Settings{Mode: "OFF", Keys: keys}, true, false, ""},
		{"bad mode", Settings{Mode: "yes", Keys: keys}, true, false, `COLLECTIONS_CODEC: "yes" is neither on nor off`},
		{"both sources", Settings{Keys: keys, KeysFile: "/x"}, true, false, "both set"},
		{"bad keys", Settings{Keys: "k1:abc"}, true, false, "COLLECTIONS_CODEC_KEYS: entry 1"},
	} {
		c, err := tc.s.Load(tc.defaultOn)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case (c != nil) != tc.on:
			t.Errorf("%s: codec on = %v, want %v", tc.name, c != nil, tc.on)
		}
	}
}
