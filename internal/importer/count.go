package importer

// Counter counts the rows of an import file as its bytes go by (it is an
// io.Writer, e.g. beside the copy of an upload): the values of a top-level
// JSON array, or the top-level values of NDJSON. It keeps a few bytes of
// state, never the data. For a file that is not well-formed the count is
// an estimate.
type Counter struct {
	n        int
	started  bool
	array    bool
	depth    int
	inStr    bool
	esc      bool
	inScalar bool
}

// Count returns the rows counted so far.
func (c *Counter) Count() int { return c.n }

// Write counts the rows that start in p; it never fails.
func (c *Counter) Write(p []byte) (int, error) {
	for _, b := range p {
		if c.inStr {
			switch {
			case c.esc:
				c.esc = false
			case b == '\\':
				c.esc = true
			case b == '"':
				c.inStr = false
			}
			continue
		}
		if !c.started {
			if isSpace(b) || b == 0xEF || b == 0xBB || b == 0xBF {
				continue
			}
			c.started = true
			if b == '[' {
				c.array, c.depth = true, 1
				continue
			}
		}
		atRow := c.depth == 0
		if c.array {
			atRow = c.depth == 1
		}
		switch {
		case b == '"':
			if atRow && !c.inScalar {
				c.n++
			}
			c.inStr, c.inScalar = true, false
		case b == '{' || b == '[':
			if atRow && !c.inScalar {
				c.n++
			}
			c.inScalar = false
			c.depth++
		case b == '}' || b == ']':
			c.inScalar = false
			if c.depth > 0 {
				c.depth--
			}
		case b == ',' || b == ':' || isSpace(b):
			c.inScalar = false
		default:
			if atRow && !c.inScalar {
				c.n++
				c.inScalar = true
			}
		}
	}
	return len(p), nil
}
