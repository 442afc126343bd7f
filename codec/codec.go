// Package codec encrypts what the workflows put in Temporal's history:
// workflow and activity inputs and results, signals, updates, queries,
// summaries and (through the failure converter) error messages. Temporal
// then stores only ciphertext; the worker, the API and the Web UI (through
// the codec endpoints the API serves) decrypt with the keys.
//
// Each encrypted payload is AES-256-GCM over the whole original payload
// (metadata and data), and names the key it was encrypted with, so keys can
// rotate: new payloads use the active key, old ones decrypt with the key
// they name for as long as that key stays in the keyring.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

const (
	// Encoding is the encoding marker of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key a payload was encrypted with.
	MetadataKeyID = "encryption-key-id"
	// KeySize is the length of an AES-256 key.
	KeySize = 32
)

// Key is one key of the keyring.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

// Codec is an AES-256-GCM converter.PayloadCodec.
type Codec struct {
	active string
	aeads  map[string]cipher.AEAD
	ids    []string
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New builds a codec over keys; the first is the active key, which encrypts;
// every key decrypts the payloads that name it.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, errors.New("codec: no keys")
	}
	c := &Codec{active: keys[0].ID, aeads: make(map[string]cipher.AEAD, len(keys))}
	for _, k := range keys {
		if err := validID(k.ID); err != nil {
			return nil, err
		}
		if _, dup := c.aeads[k.ID]; dup {
			return nil, fmt.Errorf("codec: key id %q appears twice", k.ID)
		}
		if len(k.Secret) != KeySize {
			return nil, fmt.Errorf("codec: key %q is %d bytes, want %d (AES-256)", k.ID, len(k.Secret), KeySize)
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("codec: key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
		c.ids = append(c.ids, k.ID)
	}
	return c, nil
}

// ActiveKeyID is the id of the key new payloads are encrypted with.
func (c *Codec) ActiveKeyID() string { return c.active }

// KeyIDs are the ids of every key, the active one first.
func (c *Codec) KeyIDs() []string { return append([]string(nil), c.ids...) }

// Encode encrypts each payload with the active key.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aeads[c.active]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: encode payload %d: %w", i, err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.active),
			},
			// The key id is authenticated too: a payload relabelled with
			// another key's id does not decrypt.
			Data: aead.Seal(nonce, nonce, plain, []byte(c.active)),
		}
	}
	return out, nil
}

// Decode decrypts each encrypted payload with the key it names. A payload
// that is not encrypted (written before the codec was turned on) passes
// through as it is.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aeads[id]
		if !ok {
			return payloads, &UnknownKeyError{KeyID: id, Known: c.KeyIDs()}
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return payloads, fmt.Errorf("codec: payload %d (key %q) is too short to be encrypted", i, id)
		}
		nonce, sealed := data[:aead.NonceSize()], data[aead.NonceSize():]
		plain, err := aead.Open(nil, nonce, sealed, []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("codec: payload %d (key %q) does not decrypt: it was altered, or the key %q is not the one it was encrypted with", i, id, id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return payloads, fmt.Errorf("codec: payload %d (key %q): decrypted, but not a payload: %w", i, id, err)
		}
		out[i] = &orig
	}
	return out, nil
}

// UnknownKeyError is a payload encrypted with a key the keyring lacks.
type UnknownKeyError struct {
	KeyID string
	Known []string
}

func (e *UnknownKeyError) Error() string {
	if e.KeyID == "" {
		return "codec: an encrypted payload names no key id (metadata " + MetadataKeyID + ")"
	}
	return fmt.Sprintf("codec: a payload is encrypted with key %q, which is not among the configured keys %q: add it to %s (after the active key) to read it",
		e.KeyID, e.Known, EnvKeys)
}

func validID(id string) error {
	if id == "" {
		return errors.New("codec: a key id is empty")
	}
	for _, r := range id {
		if r <= ' ' || r == ':' || r == ',' || r == '#' || r > '~' {
			return fmt.Errorf("codec: key id %q: use letters, digits and punctuation other than ':', ',' and '#'", id)
		}
	}
	return nil
}
