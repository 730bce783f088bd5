package db

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/service"
)

// Secrets at rest: the signing keys' private parts and every connection's
// databaseURL and configuration are stored sealed with AES-256-GCM under
// a key-encryption key (KEK) the operator holds, so that reading the store
// (a backup, a script given the store's URL, a stolen file) is not enough
// to sign tokens or reach a customer's database.
//
// A sealed value is the text
//
//	sealed:v1:<kid>:<base64url(nonce || ciphertext || tag)>
//
// where kid names the KEK (the first 8 bytes of SHA-256 over a label and
// the key, in hex), and the additional data binds the value to its table,
// column and row, so a sealed value copied to another row does not open.

// SealedPrefix starts every sealed value.
const SealedPrefix = "sealed:v1:"

// KeySize is the size of a key-encryption key (AES-256).
const KeySize = 32

// ErrSealed: the store holds sealed secrets and no (or not the right)
// key-encryption key was given.
var ErrSealed = errors.New("the store's secrets are sealed with a key-encryption key this process was not given")

// Sealer seals and opens secrets. Its zero value is not usable; build one
// with NewSealer.
type Sealer struct {
	primary string // kid of the key that seals
	aeads   map[string]cipher.AEAD
}

// NewSealer seals with primary and opens values sealed with primary or
// any of previous (keys being rotated out: values sealed with them are
// sealed again with primary when a store is opened with WithSealer).
// Every key is KeySize bytes.
func NewSealer(primary []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{aeads: map[string]cipher.AEAD{}}
	for i, k := range append([][]byte{primary}, previous...) {
		if len(k) != KeySize {
			return nil, fmt.Errorf("db: a key-encryption key must be %d bytes, got %d", KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		kid := KeyID(k)
		if i == 0 {
			s.primary = kid
		}
		s.aeads[kid] = aead
	}
	return s, nil
}

// KeyID names a key-encryption key without revealing it (safe to log).
func KeyID(k []byte) string {
	h := sha256.Sum256(append([]byte("profiled key-encryption key id\x00"), k...))
	return hex.EncodeToString(h[:8])
}

// PrimaryKeyID is the kid of the key that seals.
func (s *Sealer) PrimaryKeyID() string { return s.primary }

// Seal seals plain for the place aad names.
func (s *Sealer) Seal(plain []byte, aad string) string {
	aead := s.aeads[s.primary]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	ct := aead.Seal(nonce, nonce, plain, []byte(aad))
	return SealedPrefix + s.primary + ":" + base64.RawURLEncoding.EncodeToString(ct)
}

// IsSealed reports whether v is a sealed value.
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// sealedKID returns the kid of a sealed value.
func sealedKID(v string) string {
	kid, _, _ := strings.Cut(strings.TrimPrefix(v, SealedPrefix), ":")
	return kid
}

// Open opens a sealed value. Errors never contain the value.
func (s *Sealer) Open(v, aad string) ([]byte, error) {
	rest, ok := strings.CutPrefix(v, SealedPrefix)
	if !ok {
		return nil, errors.New("not a sealed value")
	}
	if s == nil {
		return nil, ErrSealed
	}
	kid, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return nil, errors.New("malformed sealed value")
	}
	aead := s.aeads[kid]
	if aead == nil {
		return nil, fmt.Errorf("%w (sealed with key %s)", ErrSealed, kid)
	}
	ct, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(ct) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("malformed sealed value")
	}
	plain, err := aead.Open(nil, ct[:aead.NonceSize()], ct[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("sealed value does not open with key %s (altered, or moved from another row)", kid)
	}
	return plain, nil
}

// sealText seals a column value on write (plain text without a sealer).
func (q *queries) sealText(plain, aad string) string {
	if q.sealer == nil || plain == "" {
		return plain
	}
	return q.sealer.Seal([]byte(plain), aad)
}

// openText opens a column value on read; a plain value (written before
// sealing, or without a sealer) is returned as it is.
func (q *queries) openText(v, aad string) (string, error) {
	if !IsSealed(v) {
		return v, nil
	}
	b, err := q.sealer.Open(v, aad)
	return string(b), err
}

func aadConnection(column, name string) string { return "connections." + column + "\x00" + name }
func aadSigningKey(kid string) string          { return "signing_keys.private_pem\x00" + kid }

// sealAtRest seals, with the primary key, every secret stored in plain
// text or sealed with another key (a store written before sealing, or a
// key being rotated out). One transaction; returns how many values it
// sealed.
func (d *DB) sealAtRest(ctx context.Context) (int, error) {
	if d.o.sealer == nil {
		return 0, nil
	}
	n := 0
	stale := func(v string) bool {
		return v != "" && (!IsSealed(v) || sealedKID(v) != d.o.sealer.primary)
	}
	err := d.WithTx(ctx, func(tx0 service.Queries) error {
		tx := tx0.(*queries)
		n = 0
		var conns []struct {
			Name          string `db:"name"`
			DatabaseURL   string `db:"database_url"`
			Configuration string `db:"configuration"`
		}
		if err := tx.w.sel(ctx, &conns, `SELECT name, database_url, configuration FROM connections`); err != nil {
			return translate(err, "read connections to seal", "connections")
		}
		for _, c := range conns {
			if !stale(c.DatabaseURL) && !stale(c.Configuration) {
				continue
			}
			vals := make([]string, 2)
			for i, col := range []struct{ name, v string }{{"database_url", c.DatabaseURL}, {"configuration", c.Configuration}} {
				plain, err := tx.openText(col.v, aadConnection(col.name, c.Name))
				if err != nil {
					return fmt.Errorf("connection %q %s: %w", c.Name, col.name, err)
				}
				vals[i] = tx.sealText(plain, aadConnection(col.name, c.Name))
				if stale(col.v) {
					n++
				}
			}
			if _, err := tx.w.exec(ctx, `UPDATE connections SET database_url = ?, configuration = ? WHERE name = ?`, vals[0], vals[1], c.Name); err != nil {
				return translate(err, "seal connection", "connections")
			}
		}
		var keys []struct {
			KID string `db:"kid"`
			PEM []byte `db:"private_pem"`
		}
		if err := tx.w.sel(ctx, &keys, `SELECT kid, private_pem FROM signing_keys`); err != nil {
			return translate(err, "read signing keys to seal", "signing_keys")
		}
		for _, k := range keys {
			if !stale(string(k.PEM)) {
				continue
			}
			plain, err := tx.openText(string(k.PEM), aadSigningKey(k.KID))
			if err != nil {
				return fmt.Errorf("signing key %q: %w", k.KID, err)
			}
			if _, err := tx.w.exec(ctx, `UPDATE signing_keys SET private_pem = ? WHERE kid = ?`, []byte(tx.sealText(plain, aadSigningKey(k.KID))), k.KID); err != nil {
				return translate(err, "seal signing key", "signing_keys")
			}
			n++
		}
		return nil
	})
	return n, err
}

// SecretsAtRest returns the secret columns as stored (sealed or not):
// each connection's databaseURL (when set) and configuration, and each
// signing key's private part. For checks that nothing is in the clear.
func (d *DB) SecretsAtRest(ctx context.Context) ([]string, error) {
	var out []string
	var conns []struct {
		DatabaseURL   string `db:"database_url"`
		Configuration string `db:"configuration"`
	}
	if err := d.w.SelectContext(ctx, &conns, `SELECT database_url, configuration FROM connections ORDER BY name`); err != nil {
		return nil, err
	}
	for _, c := range conns {
		if c.DatabaseURL != "" {
			out = append(out, c.DatabaseURL)
		}
		out = append(out, c.Configuration)
	}
	var keys [][]byte
	if err := d.w.SelectContext(ctx, &keys, `SELECT private_pem FROM signing_keys ORDER BY kid`); err != nil {
		return nil, err
	}
	for _, k := range keys {
		out = append(out, string(k))
	}
	return out, nil
}
