package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

const userColumns = `id, connection, email, email_verified, username, phone_number, phone_verified,
	name, given_name, family_name, nickname, picture, blocked, user_metadata, app_metadata,
	identities, migrated, password_hash, created_at, updated_at, last_login, last_ip, logins_count`

const (
	qUserByID                 = `SELECT ` + userColumns + ` FROM users WHERE id = ?`
	qUserByIDForUpdate        = qUserByID + ` FOR UPDATE` // MySQL; SQLite locked at BEGIN
	qUserByConnectionEmail    = `SELECT ` + userColumns + ` FROM users WHERE connection = ? AND email = ?`
	qUsersByEmail             = `SELECT ` + userColumns + ` FROM users WHERE email = ? ORDER BY id`
	qUserByConnectionUsername = `SELECT ` + userColumns + ` FROM users WHERE connection = ? AND username = ?`
	qListUsers                = `SELECT ` + userColumns + ` FROM users WHERE id > ? ORDER BY id LIMIT ?`
	qCountUsers               = `SELECT COUNT(*) FROM users`
	qInsertUser               = `INSERT INTO users (` + userColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qUpdateUser = `UPDATE users SET connection = ?, email = ?, email_verified = ?, username = ?,
	phone_number = ?, phone_verified = ?, name = ?, given_name = ?, family_name = ?, nickname = ?,
	picture = ?, blocked = ?, user_metadata = ?, app_metadata = ?, identities = ?, migrated = ?,
	password_hash = ?, created_at = ?, updated_at = ?, last_login = ?, last_ip = ?, logins_count = ?
	WHERE id = ?`
	qDeleteUser = `DELETE FROM users WHERE id = ?`
)

type userRow struct {
	ID            string         `db:"id"`
	Connection    string         `db:"connection"`
	Email         sql.NullString `db:"email"`
	EmailVerified bool           `db:"email_verified"`
	Username      sql.NullString `db:"username"`
	PhoneNumber   string         `db:"phone_number"`
	PhoneVerified bool           `db:"phone_verified"`
	Name          string         `db:"name"`
	GivenName     string         `db:"given_name"`
	FamilyName    string         `db:"family_name"`
	Nickname      string         `db:"nickname"`
	Picture       string         `db:"picture"`
	Blocked       bool           `db:"blocked"`
	UserMetadata  string         `db:"user_metadata"`
	AppMetadata   string         `db:"app_metadata"`
	Identities    string         `db:"identities"`
	Migrated      bool           `db:"migrated"`
	PasswordHash  string         `db:"password_hash"`
	CreatedAt     dbTime         `db:"created_at"`
	UpdatedAt     dbTime         `db:"updated_at"`
	LastLogin     nullTime       `db:"last_login"`
	LastIP        string         `db:"last_ip"`
	LoginsCount   int64          `db:"logins_count"`
}

func (r *userRow) user() (policy.User, error) {
	um, err := decodeObject(r.UserMetadata)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored user_metadata is not a JSON object", r.ID)
	}
	am, err := decodeObject(r.AppMetadata)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored app_metadata is not a JSON object", r.ID)
	}
	ids, err := decodeIdentities(r.Identities)
	if err != nil {
		return policy.User{}, fmt.Errorf("db: user %q: stored identities are not a JSON list", r.ID)
	}
	return policy.User{
		ID:            r.ID,
		Connection:    r.Connection,
		Email:         r.Email.String,
		EmailVerified: r.EmailVerified,
		Username:      r.Username.String,
		PhoneNumber:   r.PhoneNumber,
		PhoneVerified: r.PhoneVerified,
		Name:          r.Name,
		GivenName:     r.GivenName,
		FamilyName:    r.FamilyName,
		Nickname:      r.Nickname,
		Picture:       r.Picture,
		Blocked:       r.Blocked,
		UserMetadata:  um,
		AppMetadata:   am,
		Identities:    ids,
		Migrated:      r.Migrated,
		PasswordHash:  r.PasswordHash,
		CreatedAt:     r.CreatedAt.Time,
		UpdatedAt:     r.UpdatedAt.Time,
		LastLogin:     r.LastLogin.ptr(),
		LastIP:        r.LastIP,
		LoginsCount:   r.LoginsCount,
	}, nil
}

// userValues returns u's columns after id, in userColumns order, and its
// encoded metadata objects (also among the columns), which the term index
// reads. The email is lower-cased; an empty email or username is NULL.
func userValues(u policy.User) (vals []any, um, am string, err error) {
	if um, err = encodeObject(u.UserMetadata); err != nil {
		return nil, "", "", errors.New("user_metadata is not JSON-encodable")
	}
	if am, err = encodeObject(u.AppMetadata); err != nil {
		return nil, "", "", errors.New("app_metadata is not JSON-encodable")
	}
	ids, err := encodeIdentities(u.Identities)
	if err != nil {
		return nil, "", "", errors.New("identities are not JSON-encodable")
	}
	return []any{
		u.Connection, nullIfEmpty(strings.ToLower(u.Email)), u.EmailVerified, nullIfEmpty(u.Username),
		u.PhoneNumber, u.PhoneVerified, u.Name, u.GivenName, u.FamilyName, u.Nickname,
		u.Picture, u.Blocked, um, am, ids, u.Migrated,
		u.PasswordHash, dbTime{u.CreatedAt}, dbTime{u.UpdatedAt}, newNullTime(u.LastLogin), u.LastIP, u.LoginsCount,
	}, um, am, nil
}

func (q *queries) getUser(ctx context.Context, x runner, op, query string, args ...any) (policy.User, error) {
	var row userRow
	if err := x.get(ctx, &row, query, args...); err != nil {
		return policy.User{}, translate(err, op, "users")
	}
	return row.user()
}

func (q *queries) selectUsers(ctx context.Context, op, query string, args ...any) ([]policy.User, error) {
	var rows []userRow
	if err := q.r.sel(ctx, &rows, query, args...); err != nil {
		return nil, translate(err, op, "users")
	}
	users := make([]policy.User, 0, len(rows))
	for i := range rows {
		u, err := rows[i].user()
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func (q *queries) UserByID(ctx context.Context, id string) (policy.User, error) {
	return q.getUser(ctx, q.r, fmt.Sprintf("user %q", id), qUserByID, id)
}

func (q *queries) UserByIDForUpdate(ctx context.Context, id string) (policy.User, error) {
	query := qUserByID
	if q.dialect == DialectMySQL {
		query = qUserByIDForUpdate
	}
	return q.getUser(ctx, q.w, fmt.Sprintf("user %q for update", id), query, id)
}

func (q *queries) UserByConnectionEmail(ctx context.Context, connection, email string) (policy.User, error) {
	// The email is left out of the message (personal data in logs).
	return q.getUser(ctx, q.r, fmt.Sprintf("user of connection %q by email", connection), qUserByConnectionEmail, connection, email)
}

// UserByConnectionUsername: see service.Queries.
func (q *queries) UserByConnectionUsername(ctx context.Context, connection, username string) (policy.User, error) {
	if username == "" {
		return policy.User{}, fmt.Errorf("db: user of connection %q by username: %w", connection, service.ErrNotFound)
	}
	return q.getUser(ctx, q.r, fmt.Sprintf("user of connection %q by username", connection), qUserByConnectionUsername, connection, username)
}

func (q *queries) UsersByEmail(ctx context.Context, email string) ([]policy.User, error) {
	return q.selectUsers(ctx, "users by email", qUsersByEmail, email)
}

func (q *queries) ListUsers(ctx context.Context, p service.ListUsersParams) ([]policy.User, error) {
	return q.selectUsers(ctx, "list users", qListUsers, p.After, pageSize(p.Limit))
}

func (q *queries) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := q.r.get(ctx, &n, qCountUsers); err != nil {
		return 0, translate(err, "count users", "users")
	}
	return n, nil
}

func (q *queries) InsertUser(ctx context.Context, u policy.User) error {
	op := fmt.Sprintf("insert user %q", u.ID)
	vals, um, am, err := userValues(u)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	if _, err = q.w.exec(ctx, qInsertUser, append([]any{u.ID}, vals...)...); err != nil {
		return translate(err, op, "users")
	}
	terms := newUserTerms(nil, u, um, am)
	inserted, err := q.insertTerms(ctx, terms)
	if err != nil {
		return err
	}
	return q.countNewUsers(ctx, []policy.User{u}, terms, inserted)
}

func (q *queries) UpdateUser(ctx context.Context, u policy.User) error {
	op := fmt.Sprintf("update user %q", u.ID)
	vals, um, am, err := userValues(u)
	if err != nil {
		return fmt.Errorf("db: %s: %w", op, err)
	}
	if err := q.syncTerms(ctx, u, um, am, func(policy.User) policy.User { return u }); err != nil {
		return err
	}
	res, err := q.w.exec(ctx, qUpdateUser, append(vals, u.ID)...)
	return affectedOne(res, err, op, "users")
}

func (q *queries) DeleteUser(ctx context.Context, id string) error {
	if err := q.unindexUser(ctx, id); err != nil {
		return err
	}
	res, err := q.w.exec(ctx, qDeleteUser, id)
	return affectedOne(res, err, fmt.Sprintf("delete user %q", id), "users")
}
