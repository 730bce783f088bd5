// Package search owns the user search query language: its lexer, parser and
// compiler to parameterized SQL for MySQL/MariaDB and SQLite, the sort
// specification and the opaque keyset-pagination cursor. It is pure: it
// imports only the standard library, never db, service or a SQL driver, and
// does no I/O. The store (db) runs what it compiles.
//
// # Safety
//
// No part of the query text ever reaches SQL text. Field names map through
// a fixed whitelist to fixed column expressions; metadata paths must match
// [A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)* and are passed as bound JSON path
// parameters; every value is a bound parameter (args).
//
// # Grammar
//
// The language is the Lucene subset Auth0's user search v3 users know:
//
//	query   = [ or ] EOF
//	or      = and { "OR" and }
//	and     = unary { [ "AND" ] unary }      whitespace between terms is AND
//	unary   = ( "NOT" | "-" ) unary | primary   "-" right before a term is NOT
//	primary = "(" or ")" | term
//	term    = "_exists_" ":" FIELD
//	        | FIELD ":" value
//	        | FIELD ":" "(" or ")"            field:(a OR b): the group's values are on FIELD
//	        | value                          bare: email, username, and words of the name fields
//	value   = WORD | WORD "*" | "*" WORD | "*" WORD "*" | PHRASE | range
//	range   = ( "[" | "{" ) bound "TO" bound ( "]" | "}" )
//	bound   = WORD | PHRASE | "*"
//
// AND, OR, NOT and TO are keywords only in upper case and unescaped. NOT
// binds tighter than AND, AND tighter than OR. A WORD is a run of characters
// other than white space and ( ) [ ] { } " : where \ escapes the next
// character (name:John\ Doe, user_id:auth0\|1 is the same as
// user_id:auth0|1); in a value (right after "field:") and inside a range
// ':' is an ordinary character, so created_at:2024-03-01T10:00:00Z and
// email:a:b need no escaping. A PHRASE is "..." with \" and \\ escapes; it is matched
// exactly, like a WORD (fields are not tokenized). An unescaped * may end a
// WORD (a prefix match, also on metadata values) or start it, on the text
// columns (user_id, email, email.domain, username, names, connection,
// phone_number, last_ip), with at least MinWildcardChars characters after
// it: *ohn is a suffix match, *ohn* a substring match (Auth0's rule). Inner
// wildcards, ?, ~ and ^ are errors. A lone * is an open range end.
//
// Choices, where Lucene or Auth0 differ or are vague:
//   - Implicit AND: "a b" means a AND b (Lucene's default operator is OR;
//     AND is what people filtering users expect).
//   - A query of only NOT terms matches every user but those (Lucene would
//     match nothing). The empty query matches every user.
//   - NOT is two-valued: NOT email:x matches users without an email.
//   - A bare term (no field) matches when email or username matches it
//     whole, or when it is a word (space-separated, case-insensitive) of
//     name, given_name, family_name or nickname: john finds "John Doe"; a
//     bare prefix jo* matches the start of a word. Metadata is never
//     searched by a bare term.
//   - email.domain is the part of the email after '@', case-insensitive.
//     phone_number, last_ip, identities.provider and identities.user_id are
//     case-sensitive text; phone_verified is a boolean.
//   - email, name, given_name, family_name and nickname are case-insensitive
//     (email by lower-casing the value, as emails are stored lower-cased;
//     names by LOWER() on both sides, which SQLite does for ASCII only).
//     Every other field, metadata included, is case-sensitive.
//   - email_verified and blocked take true or false; logins_count an integer;
//     created_at, updated_at and last_login a date YYYY-MM-DD (UTC) or an RFC
//     3339 time. A date alone is its whole day: created_at:2024-03-01 is that
//     day, [* TO 2024-03-01] includes it, {2024-03-01 TO *} starts the day
//     after. Wildcards work only on text fields.
//   - identities.connection (.provider, .user_id) matches when any identity
//     has that value.
//   - roles matches when the user holds a role of that name (exact and
//     case-sensitive; roles:adm* a name starting with adm; _exists_:roles
//     any role).
//   - user_metadata.<path> and app_metadata.<path> compare the value at the
//     path in its text form (a string's text, a number as written, true or
//     false) with the term, exactly: user_metadata.age:30 matches 30 and "30".
//     As in Auth0, paths skip array levels: app_metadata.roles:admin matches
//     ["admin", "dev"], user_metadata.addresses.city:Paris matches
//     [{"city": "Paris"}]. _exists_ on a path is false for a JSON null, and
//     a null, an object or a list matches no value (_exists_ finds them).
//     Beyond Auth0, metadata takes trailing wildcards (city:Par*) and ranges:
//     a range whose bounds are numbers compares the values whose text is a
//     JSON number, numerically (tier:[4 TO *]); otherwise it compares text in
//     code-point order and never matches the empty text. Metadata terms are
//     answered from an index the store keeps beside the users (see
//     TermsTable), not by reading every user's JSON; the index relies on
//     metadata keys never holding '.', which policy refuses.
//   - Ranges [a TO b] are inclusive, {a TO b} exclusive, [a TO b} mixed; text
//     ranges compare code points (binary collation).
//
// Limits: a query is at most MaxQueryBytes long, nests parentheses and NOT at
// most MaxDepth deep and has at most MaxTerms terms.
//
// # Errors
//
// Every refusal is an *Error: for a query, Pos is the 1-based character
// position of the offending token and Msg says what was expected there
// ("at 14: expected ']' or '}'").
//
// # Use
//
//	q, err := search.Parse(text)         // *Error on a bad query
//	where, args := q.SQL(search.MySQL)   // "... FROM users WHERE " + where
//	q.Fields()                           // e.g. to refuse app_metadata.* to a token without read:users
//	s, err := search.ParseSort("created_at:-1")
//	after, afterArgs, err := s.After(cursor) // keyset condition; ORDER BY s.OrderBy()
//	s.Cursor(value, id)                  // the cursor of a returned row
//
// # Sort and cursor
//
// A sort is "field:1" (ascending) or "field:-1" on a root field (not
// identities.connection nor metadata); ties are broken by user id in the
// same direction. "" sorts by user_id ascending. Text sorts in code-point
// order; absent values (no email, username or last_login) sort first
// ascending and last descending. A cursor is opaque (base64url of JSON with
// the sort, the value and the id); one made for another sort is refused.
package search
