package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"

	"github.com/profiled/profiled/internal/auth"
	"github.com/profiled/profiled/internal/policy"
	"github.com/profiled/profiled/internal/service"
)

// exportsHandler serves GET /exports/{jobID}: the file of a completed
// export job, to the caller the auth middleware found (the service decides
// what it may download: a management token holding read:users). Errors are
// JSON in the GraphQL error shape: 401 UNAUTHENTICATED, 403 FORBIDDEN, 404
// NOT_FOUND (no such export, or its file is gone), 409 BAD_USER_INPUT (not
// completed).
func exportsHandler(svc *service.Service, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := auth.CallerFrom(r.Context())
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, string(service.CodeUnauthenticated), "a valid bearer token is required")
			return
		}
		f, j, err := svc.ExportFile(r.Context(), c, r.PathValue("jobID"))
		if err != nil {
			code, _ := service.CodeOf(err)
			var e *service.Error
			msg := "internal error"
			if errors.As(err, &e) && code != service.CodeInternal {
				msg = e.Message
			}
			var refusal *policy.Refusal
			if errors.As(err, &refusal) {
				code, msg = service.Code(refusal.Reason), refusal.Message
			}
			switch code {
			case service.CodeForbidden:
				writeError(w, http.StatusForbidden, string(code), msg)
			case service.CodeNotFound:
				writeError(w, http.StatusNotFound, string(code), msg)
			case service.CodeBadUserInput:
				writeError(w, http.StatusConflict, string(code), msg)
			default:
				log.ErrorContext(r.Context(), "export download", "job", r.PathValue("jobID"), "err", err)
				writeError(w, http.StatusInternalServerError, string(service.CodeInternal), "internal error")
			}
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			log.ErrorContext(r.Context(), "export download", "job", j.ID, "err", err)
			writeError(w, http.StatusInternalServerError, string(service.CodeInternal), "internal error")
			return
		}
		ctype := "application/x-ndjson"
		if j.Format == string(service.ExportCSV) {
			ctype = "text/csv; charset=utf-8"
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "users-"+j.ID+path.Ext(j.Location)))
		w.Header().Set("Cache-Control", "no-store")
		http.ServeContent(w, r, "", st.ModTime(), f)
	})
}
