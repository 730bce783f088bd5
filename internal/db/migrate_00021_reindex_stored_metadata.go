package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/profiled/profiled/internal/search"
)

// reindexStoredMetadata is migration 21: it rebuilds the metadata term
// index after migration 20 added the num column and array elements got
// rows of their own.
func reindexStoredMetadata(dialect goose.Dialect) func(ctx context.Context, tx *sql.Tx) error {
	fill := indexStoredMetadata(dialect)
	return func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+search.TermsTable); err != nil {
			return fmt.Errorf("reindex stored metadata: %w", err)
		}
		return fill(ctx, tx)
	}
}
