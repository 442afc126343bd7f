package codec

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// The settings, as environment variables.
const (
	EnvMode     = "COLLECTIONS_CODEC"           // on or off
	EnvKeys     = "COLLECTIONS_CODEC_KEYS"      // keyid:base64key,... (the first is active)
	EnvKeysFile = "COLLECTIONS_CODEC_KEYS_FILE" // a file of keyid:base64key lines (the first is active)
)

// Settings are the codec's settings as given (flags or the environment).
type Settings struct {
	Mode     string // "on", "off" or "" (the command's default)
	Keys     string // EnvKeys
	KeysFile string // EnvKeysFile
}

// Load returns the codec the settings ask for, or nil when it is off.
// defaultOn is what an empty Mode means: on for the production commands,
// which then refuse to start without keys; off for dev unless keys are given.
func (s Settings) Load(defaultOn bool) (*Codec, error) {
	mode := strings.ToLower(strings.TrimSpace(s.Mode))
	haveKeys := strings.TrimSpace(s.Keys) != "" || strings.TrimSpace(s.KeysFile) != ""
	switch mode {
	case "off":
		return nil, nil
	case "on":
	case "":
		if !defaultOn && !haveKeys {
			return nil, nil
		}
	default:
		return nil, fmt.Errorf("%s: %q is neither on nor off", EnvMode, s.Mode)
	}
	if !haveKeys {
		return nil, fmt.Errorf("payload encryption is on (%s) but no keys are set: set %s (keyid:base64key, e.g. k1:$(openssl rand -base64 32)) or %s (a file of such lines), or %s=off to store payloads in clear",
			EnvMode, EnvKeys, EnvKeysFile, EnvMode)
	}
	var keys []Key
	var err error
	switch {
	case strings.TrimSpace(s.Keys) != "" && strings.TrimSpace(s.KeysFile) != "":
		return nil, fmt.Errorf("%s and %s are both set: use one", EnvKeys, EnvKeysFile)
	case strings.TrimSpace(s.Keys) != "":
		keys, err = ParseKeys(s.Keys)
	default:
		keys, err = ReadKeysFile(s.KeysFile)
	}
	if err != nil {
		return nil, err
	}
	return New(keys)
}

// ParseKeys reads EnvKeys: comma-separated keyid:base64key, the first the
// active key. Errors name the variable and the entry.
func ParseKeys(list string) ([]Key, error) {
	var keys []Key
	for i, entry := range strings.Split(list, ",") {
		k, err := parseKey(strings.TrimSpace(entry))
		if err != nil {
			return nil, fmt.Errorf("%s: entry %d: %w", EnvKeys, i+1, err)
		}
		keys = append(keys, k)
	}
	if err := checkIDs(keys); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKeys, err)
	}
	return keys, nil
}

// ReadKeysFile reads EnvKeysFile: one keyid:base64key a line, the first the
// active key; blank lines and lines starting with # are ignored. Errors
// name the variable, the file and the line.
func ReadKeysFile(path string) ([]Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKeysFile, err)
	}
	keys, err := parseKeysFile(raw, fmt.Sprintf("%s %s", EnvKeysFile, path))
	if err != nil {
		return nil, err
	}
	return keys, nil
}

func parseKeysFile(raw []byte, name string) ([]Key, error) {
	var keys []Key
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", name, n, err)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no keys in the file (one keyid:base64key a line)", name)
	}
	if err := checkIDs(keys); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return keys, nil
}

func parseKey(entry string) (Key, error) {
	id, b64, ok := strings.Cut(entry, ":")
	id, b64 = strings.TrimSpace(id), strings.TrimSpace(b64)
	if !ok || id == "" || b64 == "" {
		return Key{}, errors.New("want keyid:base64key (e.g. k1:$(openssl rand -base64 32))")
	}
	if err := validID(id); err != nil {
		return Key{}, errors.New(strings.TrimPrefix(err.Error(), "codec: "))
	}
	secret, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		// Accept URL-safe and unpadded forms too; say what is wrong only
		// when none of them reads.
		for _, enc := range []*base64.Encoding{base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if s, err2 := enc.DecodeString(b64); err2 == nil {
				secret, err = s, nil
				break
			}
		}
	}
	if err != nil {
		return Key{}, fmt.Errorf("key %q: not base64: %v", id, err)
	}
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("key %q: %d bytes, want %d (AES-256: openssl rand -base64 32)", id, len(secret), KeySize)
	}
	return Key{ID: id, Secret: secret}, nil
}

func checkIDs(keys []Key) error {
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.ID] {
			return fmt.Errorf("key id %q appears twice", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}
