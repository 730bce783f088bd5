package sdk

import "errors"

// Tx is the call's database transaction. While it is open, every Query,
// QueryRow and Exec of the call — the package functions and Tx's methods
// alike — runs in it. A call has at most one open transaction; whatever is
// still open when the call ends (the handler returned, panicked or ran out
// of time) is rolled back by the host, and a handler that returns success
// with its transaction open fails the call.
//
//	err := sdk.InTx(func(tx *sdk.Tx) error {
//		res, err := tx.Exec("INSERT INTO wp_users (user_login, user_email, user_pass) VALUES (?, ?, ?)", login, email, hash)
//		if err != nil {
//			return err
//		}
//		_, err = tx.Exec("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES (?, 'nickname', ?)", res.LastInsertID, nick)
//		return err
//	})
type Tx struct {
	done bool
}

// ErrTxDone: Commit or a statement after Commit or Rollback.
var ErrTxDone = errors.New("sdk: transaction already committed or rolled back")

// Begin opens the call's transaction.
func Begin() (*Tx, error) {
	if err := status(hostDBBegin()); err != nil {
		return nil, err
	}
	return &Tx{}, nil
}

// Query runs a query in the transaction.
func (tx *Tx) Query(query string, args ...any) (*Rows, error) {
	if tx.done {
		return nil, ErrTxDone
	}
	return Query(query, args...)
}

// QueryRow runs a query in the transaction and returns its first row.
func (tx *Tx) QueryRow(query string, args ...any) *Row {
	if tx.done {
		return &Row{err: ErrTxDone}
	}
	return QueryRow(query, args...)
}

// Exec runs a statement in the transaction.
func (tx *Tx) Exec(query string, args ...any) (ExecResult, error) {
	if tx.done {
		return ExecResult{}, ErrTxDone
	}
	return Exec(query, args...)
}

// Commit commits the transaction.
func (tx *Tx) Commit() error {
	if tx.done {
		return ErrTxDone
	}
	tx.done = true
	return status(hostDBCommit())
}

// Rollback rolls the transaction back; after Commit or Rollback it does
// nothing, so `defer tx.Rollback()` is safe.
func (tx *Tx) Rollback() error {
	if tx.done {
		return nil
	}
	tx.done = true
	return status(hostDBRollback())
}

// InTx runs fn in a transaction: committed when fn returns nil, rolled
// back when it returns an error (which InTx returns) or panics.
func InTx(fn func(tx *Tx) error) error {
	tx, err := Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
