package service

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/profiled/profiled/internal/importer"
	"github.com/profiled/profiled/internal/policy"
)

// ExportFormat is an export file's format.
type ExportFormat string

// The export formats.
const (
	ExportNDJSON ExportFormat = "ndjson"
	ExportCSV    ExportFormat = "csv"
)

// Export fields besides the defaults (policy.ProfileFields' ExportAsked):
// connection, and password_hash, the stored hash in its own format,
// written only when listed explicitly (an export that must carry users'
// passwords to another store of this service; import takes it back as
// password_hash).
var exportOnlyFields = policy.FieldNames(func(f policy.FieldSpec) bool { return f.ExportAsked })

// DefaultExportFields are the fields an export writes when none are asked
// (policy.ProfileFields' Export), named as Auth0's export job names them:
// the normalized profile with the whole user_id ("db|abc"), identities and
// the dates (ISO 8601, UTC), so an export re-imports as it is (import takes
// the whole id and the dates back).
var DefaultExportFields = policy.FieldNames(func(f policy.FieldSpec) bool { return f.Export })

func knownExportField(f string) bool {
	for _, k := range DefaultExportFields {
		if k == f {
			return true
		}
	}
	for _, k := range exportOnlyFields {
		if k == f {
			return true
		}
	}
	return false
}

// checkExportFields validates the requested fields for format.
func checkExportFields(format ExportFormat, fields []string) ([]string, error) {
	bad := func(format string, args ...any) error { return jobErr(CodeBadUserInput, "fields", format, args...) }
	if len(fields) == 0 {
		if format == ExportCSV {
			return nil, bad("a CSV export needs its fields listed (metadata as subfields, e.g. user_metadata.lang)")
		}
		return DefaultExportFields, nil
	}
	if format == ExportCSV && len(fields) > MaxExportFields {
		return nil, bad("a CSV export has at most %d fields", MaxExportFields)
	}
	if len(fields) > 100 {
		return nil, bad("an export has at most 100 fields")
	}
	seen := map[string]bool{}
	for _, f := range fields {
		root, sub, isSub := strings.Cut(f, ".")
		switch {
		case isSub && (root == importer.FieldUserMetadata || root == importer.FieldAppMetadata):
			for _, k := range strings.Split(sub, ".") {
				if k == "" || strings.Contains(k, "$") {
					return nil, bad("field %q is not a valid metadata path", f)
				}
			}
			if seen[root] {
				return nil, bad("field %q is already included by %q", f, root)
			}
		case format == ExportCSV && (f == importer.FieldUserMetadata || f == importer.FieldAppMetadata):
			return nil, bad("a CSV export cannot hold the whole %s object: list its subfields (e.g. %s.lang)", f, f)
		case !knownExportField(f):
			return nil, bad("unknown field %q", f)
		}
		if seen[f] {
			return nil, bad("field %q is listed twice", f)
		}
		seen[f] = true
	}
	for f := range seen {
		if root, _, ok := strings.Cut(f, "."); ok && seen[root] {
			return nil, bad("field %q is already included by %q", f, root)
		}
	}
	return fields, nil
}

// StartExport records an export job of connection's users ("" = every
// connection) and writes them in the background, streamed, to a file in
// the job directory (or the ExportTo path): NDJSON (one user a line, the
// import field names) or CSV (a header line, OWASP CSV-injection escaping,
// at most MaxExportFields fields, metadata only as subfields). fields nil
// means DefaultExportFields (NDJSON only). caller is authorized first
// (policy.OpExportUsers, or OpExportPasswordHashes when the fields list
// password_hash).
//
// Errors: FORBIDDEN, NOT_FOUND (no such connection), BAD_USER_INPUT
// (format, fields).
func (s *Service) StartExport(ctx context.Context, caller policy.Caller, connection string, format ExportFormat, fields []string, opts ...JobOption) (Job, error) {
	op := policy.OpExportUsers
	if slices.Contains(fields, importer.FieldPasswordHash) {
		op = policy.OpExportPasswordHashes
	}
	if err := policy.Authorize(caller, op); err != nil {
		return Job{}, err
	}
	o := s.jobOptions(opts)
	if connection != "" {
		if _, err := s.store.ConnectionByName(ctx, connection); err != nil {
			return Job{}, connectionErr(err)
		}
	}
	format = ExportFormat(strings.ToLower(string(format)))
	if format != ExportNDJSON && format != ExportCSV {
		return Job{}, jobErr(CodeBadUserInput, "format", "format must be %q or %q", ExportNDJSON, ExportCSV)
	}
	fields, err := checkExportFields(format, fields)
	if err != nil {
		return Job{}, err
	}
	total, err := s.store.CountUsersOfConnection(ctx, connection)
	if err != nil {
		return Job{}, storeErr("users", err)
	}
	path := o.out
	id := "job_" + randomHex(12)
	if path == "" {
		if err := os.MkdirAll(o.dir, 0o700); err != nil {
			return Job{}, storeErr("job directory", fmt.Errorf("create job directory: %w", err))
		}
		path = filepath.Join(o.dir, id+"."+string(format))
	}
	now := s.now()
	j := Job{ID: id, Type: JobExport, Connection: connection, Status: JobPending, Format: string(format), Fields: fields,
		Total: total, CreatedAt: now, UpdatedAt: now}
	if err := s.store.InsertJob(ctx, j); err != nil {
		return Job{}, storeErr("job", err)
	}
	go func() {
		bg := context.WithoutCancel(ctx)
		if s.runJob(bg, j, func(ctx context.Context, j *Job) error { return s.runExport(ctx, j, path) }) && o.out == "" {
			// Another process failed the job: its file (if written) is
			// unreachable (ExportFile serves completed exports only).
			os.Remove(path)
		}
	}()
	return j, nil
}

const exportPageSize = 1000

func (s *Service) runExport(ctx context.Context, j *Job, path string) (err error) {
	tmp := path + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create the export file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 64<<10)
	format := ExportFormat(j.Format)
	if format == ExportCSV {
		cells := make([]string, len(j.Fields))
		for i, f := range j.Fields {
			cells[i] = csvString(f)
		}
		w.WriteString(strings.Join(cells, ",") + "\n")
	}
	after := ""
	for {
		us, err := s.store.UsersOfConnection(ctx, j.Connection, after, exportPageSize)
		if err != nil {
			return &Error{Code: CodeInternal, Message: "the store failed while reading users", Err: err}
		}
		for _, u := range us {
			var line []byte
			if format == ExportCSV {
				line = csvLine(u, j.Fields)
			} else if line, err = ndjsonLine(u, j.Fields); err != nil {
				return fmt.Errorf("encode user %s: %w", u.ID, err)
			}
			if _, err := w.Write(line); err != nil {
				return fmt.Errorf("write the export file: %w", err)
			}
			j.Done++
		}
		if len(us) < exportPageSize {
			break
		}
		after = us[len(us)-1].ID
		j.UpdatedAt = s.now()
		if err := s.store.SaveJobProgress(ctx, *j); errors.Is(err, ErrJobEnded) {
			s.log.WarnContext(ctx, "job ended by another process; stopping it", "job", j.ID)
			return errJobEndedElsewhere
		} else if err != nil {
			s.log.ErrorContext(ctx, "job progress", "job", j.ID, "err", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write the export file: %w", err)
	}
	j.Total = j.Done
	j.Location = path
	return nil
}

// ExportFile opens the file of a completed export job, for download by
// caller: FORBIDDEN without read:users (policy.OpReadJobs); NOT_FOUND
// when there is no such export; BAD_USER_INPUT while it is not completed
// (or its file is gone).
func (s *Service) ExportFile(ctx context.Context, caller policy.Caller, id string) (*os.File, Job, error) {
	if err := policy.Authorize(caller, policy.OpReadJobs); err != nil {
		return nil, Job{}, err
	}
	j, err := s.job(ctx, id)
	if err != nil {
		return nil, Job{}, err
	}
	if j.Type != JobExport {
		return nil, Job{}, &Error{Code: CodeNotFound, Message: "export not found"}
	}
	if j.Status != JobCompleted || j.Location == "" {
		return nil, Job{}, jobErr(CodeBadUserInput, "", "the export is %s, not completed", j.Status)
	}
	f, err := os.Open(j.Location)
	if err != nil {
		return nil, Job{}, &Error{Code: CodeNotFound, Message: "the export file is no longer available", Err: err}
	}
	return f, j, nil
}
