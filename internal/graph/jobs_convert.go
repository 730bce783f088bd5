package graph

import (
	"net/url"
	"strings"

	"github.com/profiled/profiled/internal/graph/model"
	"github.com/profiled/profiled/internal/service"
)

// jobView maps a service job to its GraphQL view; the export's path on the
// server is never shown, only its download path.
func jobView(j service.Job) *model.Job {
	v := &model.Job{
		ID: j.ID, Type: model.JobType(strings.ToUpper(string(j.Type))), Status: model.JobStatus(strings.ToUpper(string(j.Status))),
		Total: int(j.Total), Done: int(j.Done), Inserted: int(j.Inserted), Updated: int(j.Updated), Failed: int(j.Failed),
		Errors: make([]model.JobError, len(j.Errors)), CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
	}
	if j.Connection != "" {
		v.Connection = &j.Connection
	}
	if j.Message != "" {
		v.Message = &j.Message
	}
	if j.Type == service.JobExport && j.Status == service.JobCompleted {
		p := "/exports/" + url.PathEscape(j.ID)
		v.DownloadPath = &p
	}
	for i, e := range j.Errors {
		v.Errors[i] = model.JobError{Row: e.Row, Reason: e.Reason}
		if e.Field != "" {
			f := e.Field
			v.Errors[i].Field = &f
		}
	}
	return v
}
