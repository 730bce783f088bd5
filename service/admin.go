package service

import (
	"context"
	"errors"
	"io"

	"github.com/profiled/profiled/policy"
)

// StartImportAs is StartImport on behalf of caller: importing users into a
// connection that grants admin scopes makes administrators, so the caller
// must hold every scope the connection grants (FORBIDDEN otherwise, before
// anything is read or recorded). An unknown connection is left to
// StartImport to report.
func (s *Service) StartImportAs(ctx context.Context, caller policy.Caller, connection string, r io.Reader, upsert bool, opts ...JobOption) (Job, error) {
	conn, err := s.store.ConnectionByName(ctx, connection)
	switch {
	case err == nil:
		if err := policy.CanManageUsersOf(caller, conn.Connection); err != nil {
			return Job{}, err
		}
	case !errors.Is(err, ErrNotFound):
		return Job{}, storeErr("connection", err)
	}
	return s.StartImport(ctx, connection, r, upsert, opts...)
}
