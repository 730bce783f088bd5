package db

import (
	"context"
	"fmt"
	"time"

	"github.com/profiled/profiled/internal/service"
)

const (
	qSigningKeys       = `SELECT kid, private_pem, created_at, retires_at FROM signing_keys ORDER BY created_at, kid`
	qInsertSigningKey  = `INSERT INTO signing_keys (kid, private_pem, created_at, retires_at) VALUES (?, ?, ?, ?)`
	qRetireSigningKeys = `UPDATE signing_keys SET retires_at = ? WHERE kid <> ? AND (retires_at IS NULL OR retires_at > ?)`
)

type signingKeyRow struct {
	KID        string   `db:"kid"`
	PrivatePEM []byte   `db:"private_pem"`
	CreatedAt  dbTime   `db:"created_at"`
	RetiresAt  nullTime `db:"retires_at"`
}

func (q *queries) SigningKeys(ctx context.Context) ([]service.SigningKey, error) {
	var rows []signingKeyRow
	if err := q.r.sel(ctx, &rows, qSigningKeys); err != nil {
		return nil, translate(err, "list signing keys", "signing_keys")
	}
	out := make([]service.SigningKey, len(rows))
	for i, r := range rows {
		pem, err := q.openText(string(r.PrivatePEM), aadSigningKey(r.KID))
		if err != nil {
			return nil, fmt.Errorf("db: signing key %q: %w", r.KID, err)
		}
		out[i] = service.SigningKey{KID: r.KID, PrivatePEM: []byte(pem), CreatedAt: r.CreatedAt.Time}
		if t := r.RetiresAt.ptr(); t != nil {
			out[i].RetiresAt = *t
		}
	}
	return out, nil
}

func (q *queries) InsertSigningKey(ctx context.Context, k service.SigningKey) error {
	pem := []byte(q.sealText(string(k.PrivatePEM), aadSigningKey(k.KID)))
	if pem == nil {
		pem = []byte{} // NOT NULL
	}
	var retires *time.Time
	if !k.RetiresAt.IsZero() {
		retires = &k.RetiresAt
	}
	_, err := q.w.exec(ctx, qInsertSigningKey, k.KID, pem, dbTime{k.CreatedAt}, newNullTime(retires))
	return translate(err, fmt.Sprintf("insert signing key %q", k.KID), "signing_keys")
}

// RetireSigningKeys makes every key but keep stop verifying at at (keys
// already retiring sooner keep their time).
func (q *queries) RetireSigningKeys(ctx context.Context, keep string, at time.Time) error {
	_, err := q.w.exec(ctx, qRetireSigningKeys, dbTime{at}, keep, dbTime{at})
	return translate(err, "retire signing keys", "signing_keys")
}
