package graph

import (
	"context"
	"io"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/profiled/profiled/internal/graph/model"
)

// fastRead is a field middleware for the two read fields a client calls
// most, Query.user and Query.users (issue 17). gqlgen resolves and marshals
// every field of the result through its per-field machinery (a field
// context, a context value, closures, a marshaler and a recover per field,
// a goroutine per list element): for a page of 100 users that is 1,100
// fields and most of the request's CPU. After the field's resolver has run
// as usual (arguments, scopes, the service, the caller's appMetadata
// right, errors: all unchanged), fastRead writes the result's JSON itself
// when every field selected below it is a plain field of User,
// UserConnection, UserEdge or PageInfo (no resolver, no arguments, no
// @defer) and no value would make gqlgen report an error (a denied
// appMetadata, a zero time on a non-null field); it hands gqlgen the bytes
// as the field's marshaler. Otherwise it returns the resolver's result and
// gqlgen marshals it as before.
//
// The bytes are gqlgen's: the fields in CollectFields' order (fragments,
// aliases, @skip/@include as gqlgen applies them), the same scalar
// marshalling. TestFastReadMatchesGqlgen and FuzzFastRead hold it to the
// executor's output byte for byte, errors included.
func fastRead(ctx context.Context, next graphql.Resolver) (any, error) {
	res, err := next(ctx)
	if err != nil || res == nil {
		return res, err
	}
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Object != "Query" || !fc.IsResolver || graphql.HasFieldError(ctx, fc) {
		return res, err
	}
	switch v := res.(type) {
	case *model.User:
		if fc.Field.Name != "user" || v == nil {
			return res, nil
		}
		oc := graphql.GetOperationContext(ctx)
		plan, ok := userPlanOf(oc, fc.Field.Selections)
		if !ok || !plan.fits(v) {
			return res, nil
		}
		fastReads.Add(1)
		return rawJSON(plan.append(make([]byte, 0, 512), v)), nil
	case *model.UserConnection:
		if fc.Field.Name != "users" || v == nil {
			return res, nil
		}
		oc := graphql.GetOperationContext(ctx)
		plan, ok := connPlanOf(oc, fc.Field.Selections)
		if !ok || !plan.fits(v) {
			return res, nil
		}
		fastReads.Add(1)
		return rawJSON(plan.append(make([]byte, 0, 1024+512*len(v.Edges)), v)), nil
	}
	return res, nil
}

// fastReads counts the fields fastRead wrote (for tests).
var fastReads atomic.Uint64

// rawJSON is a marshaler writing bytes made beforehand.
type rawJSON []byte

func (b rawJSON) MarshalGQL(w io.Writer) { _, _ = w.Write(b) }

// userField is a plain field of User.
type userField uint8

const (
	uTypename userField = iota
	uID
	uConnection
	uEmail
	uEmailVerified
	uUsername
	uPhoneNumber
	uPhoneVerified
	uName
	uGivenName
	uFamilyName
	uNickname
	uPicture
	uBlocked
	uUserMetadata
	uAppMetadata
	uMigrated
	uCreatedAt
	uUpdatedAt
	uLastLogin
	uLastIP
	uLoginsCount
)

var userFields = map[string]userField{
	"__typename": uTypename, "id": uID, "connection": uConnection, "email": uEmail,
	"emailVerified": uEmailVerified, "username": uUsername, "phoneNumber": uPhoneNumber,
	"phoneVerified": uPhoneVerified, "name": uName, "givenName": uGivenName,
	"familyName": uFamilyName, "nickname": uNickname, "picture": uPicture, "blocked": uBlocked,
	"userMetadata": uUserMetadata, "appMetadata": uAppMetadata, "migrated": uMigrated,
	"createdAt": uCreatedAt, "updatedAt": uUpdatedAt, "lastLogin": uLastLogin, "lastIp": uLastIP,
	"loginsCount": uLoginsCount,
}

// planField is one output field: its response key and what it writes.
type planField[K any] struct {
	alias string
	kind  K
}

// collect returns the plan of the fields gqlgen's CollectFields returned
// for a selection (so the same fields, one per response key, in the same
// order), or false when a field is not in known or has arguments or
// @defer.
func collect[K any](sel []graphql.CollectedField, known map[string]K) ([]planField[K], bool) {
	out := make([]planField[K], 0, len(sel))
next:
	for _, f := range sel {
		for _, o := range out {
			if o.alias == f.Alias {
				continue next // as FieldSet.MarshalGQL: a key is written once
			}
		}
		k, ok := known[f.Name]
		if !ok || f.Deferrable != nil || len(f.Arguments) > 0 || !staticDirectives(f) {
			return nil, false
		}
		out = append(out, planField[K]{alias: f.Alias, kind: k})
	}
	return out, true
}

// staticDirectives reports a field whose schema directives run no code
// while the operation executes (gqlgen.yml: needs and range are checked
// before any resolver, deprecated is documentation). A directive added to
// a field with code at execution time would be skipped by the fast path,
// so such a field is left to gqlgen.
func staticDirectives(f graphql.CollectedField) bool {
	if f.Definition == nil {
		return false
	}
	for _, d := range f.Definition.Directives {
		switch d.Name {
		case "needs", "range", "deprecated":
		default:
			return false
		}
	}
	return true
}

// appendKey writes a field's key as FieldSet.MarshalGQL does.
func appendKey(dst []byte, i int, alias string) []byte {
	if i > 0 {
		dst = append(dst, ',')
	}
	return append(appendGQLString(dst, alias), ':')
}

type userPlan []planField[userField]

func userPlanOf(oc *graphql.OperationContext, sel ast.SelectionSet) (userPlan, bool) {
	p, ok := collect(graphql.CollectFields(oc, sel, []string{"User"}), userFields)
	return userPlan(p), ok
}

// fits reports whether gqlgen would marshal u with this plan without an
// error: appMetadata readable when selected, non-null times set.
func (p userPlan) fits(u *model.User) bool {
	for _, f := range p {
		switch f.kind {
		case uAppMetadata:
			if u.AppMetadataDenied != nil {
				return false
			}
		case uCreatedAt:
			if u.U.CreatedAt.IsZero() {
				return false
			}
		case uUpdatedAt:
			if u.U.UpdatedAt.IsZero() {
				return false
			}
		}
	}
	return true
}

func (p userPlan) append(dst []byte, u *model.User) []byte {
	dst = append(dst, '{')
	for i, f := range p {
		dst = appendKey(dst, i, f.alias)
		switch f.kind {
		case uTypename:
			dst = append(dst, `"User"`...)
		case uID:
			dst = appendGQLString(dst, u.ID())
		case uConnection:
			dst = appendGQLString(dst, u.Connection())
		case uEmail:
			dst = appendOptString(dst, u.Email())
		case uEmailVerified:
			dst = strconv.AppendBool(dst, u.EmailVerified())
		case uUsername:
			dst = appendOptString(dst, u.Username())
		case uPhoneNumber:
			dst = appendOptString(dst, u.PhoneNumber())
		case uPhoneVerified:
			dst = strconv.AppendBool(dst, u.PhoneVerified())
		case uName:
			dst = appendOptString(dst, u.Name())
		case uGivenName:
			dst = appendOptString(dst, u.GivenName())
		case uFamilyName:
			dst = appendOptString(dst, u.FamilyName())
		case uNickname:
			dst = appendOptString(dst, u.Nickname())
		case uPicture:
			dst = appendOptString(dst, u.Picture())
		case uBlocked:
			dst = strconv.AppendBool(dst, u.Blocked())
		case uUserMetadata:
			dst = model.AppendMetadata(dst, u.UserMetadata())
		case uAppMetadata:
			m, _ := u.AppMetadata() // fits: readable
			dst = model.AppendMetadata(dst, m)
		case uMigrated:
			dst = strconv.AppendBool(dst, u.Migrated())
		case uCreatedAt:
			dst = appendTime(dst, u.CreatedAt())
		case uUpdatedAt:
			dst = appendTime(dst, u.UpdatedAt())
		case uLastLogin:
			if t := u.LastLogin(); t != nil && !t.IsZero() {
				dst = appendTime(dst, *t)
			} else {
				dst = append(dst, "null"...)
			}
		case uLastIP:
			dst = appendOptString(dst, u.LastIP())
		case uLoginsCount:
			dst = strconv.AppendInt(dst, int64(u.LoginsCount()), 10)
		}
	}
	return append(dst, '}')
}

// The plain fields of UserConnection, UserEdge and PageInfo.
type connField uint8

const (
	cTypename connField = iota
	cEdges
	cPageInfo
	cTotalCount
	eTypename
	eCursor
	eNode
	pTypename
	pHasNextPage
	pEndCursor
)

var (
	connFields = map[string]connField{"__typename": cTypename, "edges": cEdges, "pageInfo": cPageInfo, "totalCount": cTotalCount}
	edgeFields = map[string]connField{"__typename": eTypename, "cursor": eCursor, "node": eNode}
	pageFields = map[string]connField{"__typename": pTypename, "hasNextPage": pHasNextPage, "endCursor": pEndCursor}
)

// connPlan is the plan of a users selection: its own fields, and those of
// the edges, the nodes and the page info (each selection set is the same
// for every element of the list, so it is collected once, where gqlgen
// collects it per element).
type connPlan struct {
	conn, edge, page []planField[connField]
	node             userPlan
	hasNode          bool
}

func connPlanOf(oc *graphql.OperationContext, sel ast.SelectionSet) (connPlan, bool) {
	var p connPlan
	fields := graphql.CollectFields(oc, sel, []string{"UserConnection"})
	var ok bool
	if p.conn, ok = collect(fields, connFields); !ok {
		return p, false
	}
	// One plan per type: a selection that asks for edges, pageInfo or
	// node twice under different aliases (different selections) is left
	// to gqlgen.
	var edges, pages, nodes int
	for _, f := range fields {
		switch f.Name {
		case "edges":
			if edges++; edges > 1 {
				return p, false
			}
			ef := graphql.CollectFields(oc, f.Selections, []string{"UserEdge"})
			if p.edge, ok = collect(ef, edgeFields); !ok {
				return p, false
			}
			for _, e := range ef {
				if e.Name == "node" {
					if nodes++; nodes > 1 {
						return p, false
					}
					if p.node, ok = userPlanOf(oc, e.Selections); !ok {
						return p, false
					}
					p.hasNode = true
				}
			}
		case "pageInfo":
			if pages++; pages > 1 {
				return p, false
			}
			if p.page, ok = collect(graphql.CollectFields(oc, f.Selections, []string{"PageInfo"}), pageFields); !ok {
				return p, false
			}
		}
	}
	return p, true
}

// fits reports whether gqlgen would marshal c without an error.
func (p connPlan) fits(c *model.UserConnection) bool {
	for _, f := range p.conn {
		switch f.kind {
		case cPageInfo:
			if c.PageInfo == nil {
				return false
			}
		case cEdges:
			if c.Edges == nil {
				return false
			}
			if p.hasNode {
				for i := range c.Edges {
					if c.Edges[i].Node == nil || !p.node.fits(c.Edges[i].Node) {
						return false
					}
				}
			}
		}
	}
	return true
}

func (p connPlan) append(dst []byte, c *model.UserConnection) []byte {
	dst = append(dst, '{')
	for i, f := range p.conn {
		dst = appendKey(dst, i, f.alias)
		switch f.kind {
		case cTypename:
			dst = append(dst, `"UserConnection"`...)
		case cTotalCount:
			dst = strconv.AppendInt(dst, int64(c.TotalCount), 10)
		case cPageInfo:
			dst = p.appendPage(dst, c.PageInfo)
		case cEdges:
			dst = append(dst, '[')
			for j := range c.Edges {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = p.appendEdge(dst, &c.Edges[j])
			}
			dst = append(dst, ']')
		}
	}
	return append(dst, '}')
}

func (p connPlan) appendEdge(dst []byte, e *model.UserEdge) []byte {
	dst = append(dst, '{')
	for i, f := range p.edge {
		dst = appendKey(dst, i, f.alias)
		switch f.kind {
		case eTypename:
			dst = append(dst, `"UserEdge"`...)
		case eCursor:
			dst = appendGQLString(dst, e.Cursor)
		case eNode:
			dst = p.node.append(dst, e.Node)
		}
	}
	return append(dst, '}')
}

func (p connPlan) appendPage(dst []byte, pi *model.PageInfo) []byte {
	dst = append(dst, '{')
	for i, f := range p.page {
		dst = appendKey(dst, i, f.alias)
		switch f.kind {
		case pTypename:
			dst = append(dst, `"PageInfo"`...)
		case pHasNextPage:
			dst = strconv.AppendBool(dst, pi.HasNextPage)
		case pEndCursor:
			dst = appendOptString(dst, pi.EndCursor)
		}
	}
	return append(dst, '}')
}

func appendOptString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return appendGQLString(dst, *s)
}

// appendTime writes t as graphql.MarshalTime does (t is not zero):
// strconv.Quote of the RFC 3339 text, which is printable ASCII without
// quotes or backslashes, so the quotes alone.
func appendTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	return append(t.AppendFormat(dst, time.RFC3339Nano), '"')
}

// appendGQLString quotes s as gqlgen's MarshalString does: ", \ and
// control characters escaped, every other byte (invalid UTF-8 included)
// as it is, and gqlgen's upper-case hex digits. (The transport escapes <, >, & and U+2028/9 afterwards, over
// the whole response.)
func appendGQLString(dst []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '\t':
			dst = append(dst, '\\', 't')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\\', '"':
			dst = append(dst, '\\', c)
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
