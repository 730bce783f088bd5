package sdk

import (
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/profiled/profiled/abi"
)

// Query runs a statement that returns rows against the connection's
// database. Arguments are bound to the `?` placeholders by the database
// (never spliced into the SQL): pass the user's input as arguments, never
// concatenate it into query. Supported argument types: nil, bool, integers,
// floats, string, []byte, time.Time.
//
// Each call counts against the per-call cap on host calls; a result over the
// row or byte cap fails with ErrLimit (and so does the whole call).
func Query(query string, args ...any) (*Rows, error) {
	req, err := request(query, args)
	if err != nil {
		return nil, err
	}
	raw, err := readReply(hostDBQuery(bptr(req), uint32(len(req))))
	if err != nil {
		return nil, err
	}
	r := &Rows{}
	r.d.Reset(raw)
	if _, err := r.d.List(); err != nil {
		return nil, errMalformedReply
	}
	nc, err := r.d.List()
	if err != nil {
		return nil, errMalformedReply
	}
	r.Columns = make([]string, nc)
	for i := range r.Columns {
		if r.Columns[i], err = r.d.String(); err != nil {
			return nil, errMalformedReply
		}
	}
	if r.n, err = r.d.List(); err != nil {
		return nil, errMalformedReply
	}
	return r, nil
}

// QueryRow runs Query and returns its first row; Row.Scan returns ErrNoRows
// when there is none.
func QueryRow(query string, args ...any) *Row {
	rows, err := Query(query, args...)
	return &Row{rows: rows, err: err}
}

// ExecResult is what Exec reports.
type ExecResult struct {
	RowsAffected int64
	LastInsertID int64
}

// Exec runs a statement that returns no rows (INSERT, UPDATE, DELETE). A
// unique-constraint violation is an error matching ErrDuplicate.
func Exec(query string, args ...any) (ExecResult, error) {
	req, err := request(query, args)
	if err != nil {
		return ExecResult{}, err
	}
	raw, err := readReply(hostDBExec(bptr(req), uint32(len(req))))
	if err != nil {
		return ExecResult{}, err
	}
	var d abi.Decoder
	d.Reset(raw)
	var res ExecResult
	if _, err = d.List(); err == nil {
		if res.RowsAffected, err = d.Int(); err == nil {
			res.LastInsertID, err = d.Int()
		}
	}
	if err != nil {
		return ExecResult{}, errMalformedReply
	}
	return res, nil
}

var errMalformedReply = errors.New("sdk: malformed reply from the host")

func request(query string, args []any) ([]byte, error) {
	b := make([]byte, 0, len(query)+32+16*len(args))
	b = abi.AppendList(b, 2)
	b = abi.AppendString(b, query)
	b = abi.AppendList(b, len(args))
	for i, a := range args {
		var err error
		switch a.(type) {
		case []any, map[string]any, []string, map[string]string:
			err = abi.ErrUnsupported
		default:
			b, err = abi.AppendValue(b, a)
		}
		if err != nil {
			return nil, errors.New("sdk: argument " + strconv.Itoa(i+1) + ": unsupported type")
		}
	}
	return b, nil
}

// Rows is the result of Query, already complete (the host read every row
// before returning). Iterate with Next and Scan.
type Rows struct {
	// Columns are the column names, in order.
	Columns []string
	d       abi.Decoder
	n, i    int // rows, rows started
	left    int // values of the current row not yet consumed
	scanned bool
}

// Len is the number of rows.
func (r *Rows) Len() int { return r.n }

// Next advances to the next row; false when there is none.
func (r *Rows) Next() bool {
	for ; r.left > 0; r.left-- {
		if r.d.Skip() != nil {
			return false
		}
	}
	if r.i >= r.n {
		return false
	}
	c, err := r.d.List()
	if err != nil {
		r.i = r.n
		return false
	}
	r.i++
	r.left, r.scanned = c, false
	return true
}

// Scan copies the current row's columns, in order, into dest. Fewer dest
// than columns leaves the rest unread. Supported destinations: *string,
// *[]byte, *int, *int64, *int32, *uint64, *bool, *float64, *time.Time and
// *any. SQL NULL sets the zero value (nil for *any and *[]byte). Numbers and
// strings convert where it makes sense (an INT into *string, a TINYINT(1) or
// "1"/"true" into *bool, a numeric string into *int64).
func (r *Rows) Scan(dest ...any) error {
	if r.i == 0 || r.scanned {
		return errors.New("sdk: Scan called without a new row (call Next first)")
	}
	r.scanned = true
	if len(dest) > r.left {
		return errors.New("sdk: Scan: " + strconv.Itoa(len(dest)) + " destinations for " + strconv.Itoa(r.left) + " columns")
	}
	for i, dst := range dest {
		r.left--
		v, err := r.d.Value()
		if err != nil {
			return errMalformedReply
		}
		if err := assign(dst, v); err != nil {
			col := strconv.Itoa(i + 1)
			if i < len(r.Columns) {
				col = r.Columns[i]
			}
			return errors.New("sdk: Scan column " + col + ": " + err.Error())
		}
	}
	return nil
}

// Row is the result of QueryRow.
type Row struct {
	rows *Rows
	err  error
}

// Scan scans the first row; ErrNoRows when there is none.
func (r *Row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if !r.rows.Next() {
		return ErrNoRows
	}
	return r.rows.Scan(dest...)
}

func assign(dst, v any) error {
	switch d := dst.(type) {
	case *any:
		*d = v
		return nil
	case *string:
		switch x := v.(type) {
		case nil:
			*d = ""
		case string:
			*d = x
		case []byte:
			*d = string(x)
		case int64:
			*d = strconv.FormatInt(x, 10)
		case float64:
			*d = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			*d = strconv.FormatBool(x)
		case time.Time:
			*d = x.Format(time.RFC3339Nano)
		default:
			return errConvert(v, "string")
		}
		return nil
	case *[]byte:
		switch x := v.(type) {
		case nil:
			*d = nil
		case string:
			*d = []byte(x)
		case []byte:
			*d = x
		default:
			return errConvert(v, "[]byte")
		}
		return nil
	case *int64:
		n, err := toInt(v)
		*d = n
		return err
	case *int:
		n, err := toInt(v)
		*d = int(n)
		return err
	case *int32:
		n, err := toInt(v)
		if err == nil && (n < math.MinInt32 || n > math.MaxInt32) {
			err = errors.New("value out of range for int32")
		}
		*d = int32(n)
		return err
	case *uint64:
		n, err := toInt(v)
		if err == nil && n < 0 {
			err = errors.New("negative value for uint64")
		}
		*d = uint64(n)
		return err
	case *float64:
		switch x := v.(type) {
		case nil:
			*d = 0
		case float64:
			*d = x
		case int64:
			*d = float64(x)
		case string:
			f, err := strconv.ParseFloat(x, 64)
			*d = f
			return err
		default:
			return errConvert(v, "float64")
		}
		return nil
	case *bool:
		switch x := v.(type) {
		case nil:
			*d = false
		case bool:
			*d = x
		case int64:
			*d = x != 0
		case string:
			b, err := strconv.ParseBool(x)
			*d = b
			return err
		case []byte:
			*d = len(x) == 1 && x[0] == 1 // BIT(1)
		default:
			return errConvert(v, "bool")
		}
		return nil
	case *time.Time:
		switch x := v.(type) {
		case nil:
			*d = time.Time{}
		case time.Time:
			*d = x
		case string:
			for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02"} {
				if t, err := time.Parse(layout, x); err == nil {
					*d = t
					return nil
				}
			}
			return errConvert(v, "time.Time")
		default:
			return errConvert(v, "time.Time")
		}
		return nil
	}
	return errors.New("unsupported Scan destination type")
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x <= math.MaxInt64 {
			return int64(x), nil
		}
	case string:
		return strconv.ParseInt(x, 10, 64)
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	}
	return 0, errConvert(v, "integer")
}

func errConvert(v any, to string) error {
	from := "value"
	switch v.(type) {
	case string:
		from = "string"
	case []byte:
		from = "bytes"
	case int64:
		from = "integer"
	case float64:
		from = "float"
	case bool:
		from = "bool"
	case time.Time:
		from = "time"
	}
	return errors.New("cannot convert " + from + " to " + to)
}
